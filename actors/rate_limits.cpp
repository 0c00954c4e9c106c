// Token buckets per client key and per tool behind a mutex, with a bounded key table.
#include "actors/rate_limits.hpp"

#include <cmath>

namespace cafmcp::actors {

namespace {

// A full table is pruned at most this often (pruning is linear in its size).
constexpr auto full_prune_interval = std::chrono::seconds(1);

} // namespace

std::string check(const bucket_config& b) {
  if (!std::isfinite(b.capacity) || b.capacity < 1)
    return "capacity must be a number of at least 1";
  if (!std::isfinite(b.refill_per_second) || b.refill_per_second < 0.001)
    return "refill_per_second must be a number of at least 0.001";
  return "";
}

rate_limits::rate_limits(rate_limit_config cfg) : cfg_(std::move(cfg)) {
  auto now = std::chrono::steady_clock::now();
  for (auto& [name, b] : cfg_.tools)
    tools_.emplace(name, token_bucket{b, now});
  client_on_ = cfg_.client.has_value();
  tools_on_ = !tools_.empty();
}

rate_decision rate_limits::take(token_bucket& bucket, time_point now, double n) {
  rate_decision out;
  out.allowed = bucket.try_take(now, n);
  if (!out.allowed)
    out.retry_after_ms = std::max<int64_t>(1, bucket.retry_after(now, n).count());
  out.remaining = bucket.tokens(now);
  ++(out.allowed ? stats_.allowed : stats_.rejected);
  return out;
}

rate_decision rate_limits::take_client(const std::string& key, time_point now, double n) {
  if (!client_on_.load(std::memory_order_relaxed))
    return rate_decision{true, 0, 0};
  std::lock_guard<std::mutex> guard{mtx_};
  if (!cfg_.client)
    return rate_decision{true, 0, 0};
  auto i = clients_.find(key);
  if (i == clients_.end() && clients_.size() >= cfg_.max_keys && now - last_full_prune_ >= full_prune_interval) {
    last_full_prune_ = now;
    drop_idle(now);
  }
  token_bucket* bucket;
  if (i != clients_.end()) {
    bucket = &i->second;
  } else if (clients_.size() < cfg_.max_keys) {
    bucket = &clients_.emplace(key, token_bucket{*cfg_.client, now}).first->second;
  } else {
    ++stats_.overflowed;
    if (!overflow_)
      overflow_.emplace(*cfg_.client, now);
    bucket = &*overflow_;
  }
  auto out = take(*bucket, now, n);
  if (!out.allowed)
    ++refused_["client"];
  return out;
}

rate_decision rate_limits::take_tool(const std::string& tool, time_point now) {
  if (!tools_on_.load(std::memory_order_relaxed))
    return rate_decision{true, 0, 0};
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = tools_.find(tool);
  if (i == tools_.end())
    return rate_decision{true, 0, 0};
  auto out = take(i->second, now, 1);
  if (!out.allowed)
    ++refused_["tool:" + tool];
  return out;
}

std::vector<rate_limit> rate_limits::limits() const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto refused = [this](const std::string& scope) {
    auto i = refused_.find(scope);
    return i == refused_.end() ? uint64_t{0} : i->second;
  };
  std::vector<rate_limit> out;
  out.push_back(cfg_.client
                  ? rate_limit{"client", true, cfg_.client->capacity, cfg_.client->refill_per_second, refused("client")}
                  : rate_limit{"client", false, 0, 0, refused("client")});
  for (auto& [name, b] : cfg_.tools)
    out.push_back(rate_limit{"tool:" + name, true, b.capacity, b.refill_per_second, refused("tool:" + name)});
  return out;
}

std::string rate_limits::set(const rate_limit& limit) {
  bucket_config b{limit.capacity, limit.refill_per_second};
  if (limit.on)
    if (auto why = check(b); !why.empty())
      return why;
  auto now = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> guard{mtx_};
  if (limit.scope == "client") {
    cfg_.client = limit.on ? std::optional<bucket_config>{b} : std::nullopt;
    clients_.clear();
    overflow_.reset();
    client_on_ = limit.on;
    return "";
  }
  if (limit.scope.rfind("tool:", 0) == 0 && limit.scope.size() > 5) {
    auto name = limit.scope.substr(5);
    tools_.erase(name);
    cfg_.tools.erase(name);
    if (limit.on) {
      cfg_.tools[name] = b;
      tools_.emplace(name, token_bucket{b, now});
    }
    tools_on_ = !tools_.empty();
    return "";
  }
  return "unknown limit '" + limit.scope + "': the scopes are client and tool:NAME";
}

void rate_limits::drop_idle(time_point now) {
  for (auto j = clients_.begin(); j != clients_.end();)
    j = j->second.full(now) ? clients_.erase(j) : std::next(j);
}

size_t rate_limits::prune(time_point now) {
  std::lock_guard<std::mutex> guard{mtx_};
  drop_idle(now);
  if (overflow_ && overflow_->full(now))
    overflow_.reset();
  return clients_.size();
}

rate_stats rate_limits::stats() const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto out = stats_;
  out.keys = clients_.size();
  for (auto& [scope, n] : refused_)
    (scope == "client" ? out.client_rejected : out.tool_rejected) += n;
  return out;
}

} // namespace cafmcp::actors
