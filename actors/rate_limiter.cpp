// The rate_limiter actor: one token bucket per key.
#include "actors/rate_limiter.hpp"

#include <unordered_map>

#include <caf/all.hpp>

#include "actors/errors.hpp"
#include "actors/messages.hpp"
#include "supervision/worker.hpp"

namespace cafmcp::actors {

namespace {

using prune_atom = caf::atom_constant<caf::atom("rl_prune")>;
constexpr auto prune_interval = std::chrono::seconds(30);

struct limiter_state {
  std::unordered_map<std::string, token_bucket> buckets;
  rate_stats stats;
};

caf::behavior rate_limiter_actor(caf::stateful_actor<limiter_state>* self, bucket_config cfg,
                                 const std::string& /* path */) {
  self->delayed_send(self, prune_interval, prune_atom::value);
  auto& buckets = self->state.buckets;
  auto& stats = self->state.stats;
  return {
    [&buckets, &stats, cfg](rate_take_atom, const std::string& key, double n) -> caf::result<rate_decision> {
      if (!(n > 0) || n > cfg.capacity)
        return make_error(errc::invalid_argument,
                          "tokens must be > 0 and at most the capacity "
                            + std::to_string(cfg.capacity));
      auto now = std::chrono::steady_clock::now();
      auto i = buckets.find(key);
      if (i == buckets.end())
        i = buckets.emplace(key, token_bucket{cfg, now}).first;
      rate_decision out;
      out.allowed = i->second.try_take(now, n);
      ++(out.allowed ? stats.allowed : stats.rejected);
      if (!out.allowed)
        out.retry_after_ms = i->second.retry_after(now, n).count();
      out.remaining = i->second.tokens(now);
      return out;
    },
    [&buckets, &stats](rate_stats_atom) {
      auto out = stats;
      out.keys = buckets.size();
      return out;
    },
    [=, &buckets](prune_atom) {
      auto now = std::chrono::steady_clock::now();
      for (auto i = buckets.begin(); i != buckets.end();)
        i = i->second.full(now) ? buckets.erase(i) : std::next(i);
      self->delayed_send(self, prune_interval, prune_atom::value);
    },
  };
}

} // namespace

supervision::child_spec rate_limiter_spec(bucket_config cfg) {
  return supervision::worker_child("rate_limiter", rate_limiter_actor, cfg);
}

} // namespace cafmcp::actors
