// The rate_limiter actor: the node's rate limits read, changed and pruned through messages.
#include "actors/rate_limiter.hpp"

#include <caf/all.hpp>

#include "actors/errors.hpp"
#include "actors/messages.hpp"
#include "base/log.hpp"
#include "supervision/worker.hpp"

namespace cafmcp::actors {

namespace {

using prune_atom = caf::atom_constant<caf::atom("rl_prune")>;
constexpr auto prune_interval = std::chrono::seconds(30);

caf::behavior rate_limiter_actor(caf::event_based_actor* self, std::shared_ptr<rate_limits> limits,
                                 const std::string& path) {
  self->delayed_send(self, prune_interval, prune_atom::value);
  return {
    [limits](rate_take_atom, const std::string& key, double n) -> caf::result<rate_decision> {
      auto client = limits->limits().front();
      if (!client.on)
        return make_error(errc::invalid_argument, "there is no client rate limit (rate_limiter.enabled is false)");
      if (!(n > 0) || n > client.capacity)
        return make_error(errc::invalid_argument,
                          "tokens must be > 0 and at most the capacity " + std::to_string(client.capacity));
      return limits->take_client(key, std::chrono::steady_clock::now(), n);
    },
    [limits](rate_stats_atom) { return limits->stats(); },
    [limits](rate_limits_atom) { return limits->limits(); },
    [limits, path](rate_set_atom, const rate_limit& limit) -> caf::result<std::vector<rate_limit>> {
      if (auto why = limits->set(limit); !why.empty())
        return make_error(errc::invalid_argument, why);
      log::info(path, limit.on ? "rate limit " + limit.scope + " set: capacity " + std::to_string(limit.capacity)
                                   + ", " + std::to_string(limit.refill_per_second) + " per second"
                               : "rate limit " + limit.scope + " removed");
      return limits->limits();
    },
    [self, limits](prune_atom) {
      limits->prune(std::chrono::steady_clock::now());
      self->delayed_send(self, prune_interval, prune_atom::value);
    },
  };
}

} // namespace

supervision::child_spec rate_limiter_spec(std::shared_ptr<rate_limits> limits) {
  return supervision::worker_child("rate_limiter", rate_limiter_actor, std::move(limits));
}

} // namespace cafmcp::actors
