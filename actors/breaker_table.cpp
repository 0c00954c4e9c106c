// Circuit breakers by key behind a mutex, their transitions counted and logged.
#include "actors/breaker_table.hpp"

#include "base/duration_text.hpp"
#include "base/log.hpp"

namespace cafmcp::actors {

namespace {

// Keys are tools of the catalog and cluster members, so few; past this many
// the closed ones (nothing to remember) are forgotten.
constexpr size_t max_keys = 4096;

} // namespace

breaker_table::breaker_table(breaker_config cfg, bool enabled, std::string log_path)
  : cfg_(cfg), enabled_(enabled), log_path_(std::move(log_path)) {
}

void breaker_table::configure_prefix(const std::string& prefix, breaker_config cfg) {
  std::lock_guard<std::mutex> guard{mtx_};
  by_prefix_.emplace_back(prefix, cfg);
}

breaker_table::entry& breaker_table::get(const std::string& key) {
  auto i = map_.find(key);
  if (i != map_.end())
    return i->second;
  if (map_.size() >= max_keys) {
    auto now = std::chrono::steady_clock::now();
    for (auto j = map_.begin(); j != map_.end();)
      j = j->second.breaker.state(now) == breaker_state::closed && j->second.breaker.failures() == 0
            ? map_.erase(j)
            : std::next(j);
  }
  auto cfg = cfg_;
  for (auto& [prefix, c] : by_prefix_)
    if (key.rfind(prefix, 0) == 0)
      cfg = c;
  return map_.emplace(key, entry{circuit_breaker{cfg}, 0, 0}).first->second;
}

breaker_verdict breaker_table::allow(const std::string& key, time_point now) {
  if (!enabled_)
    return {};
  std::lock_guard<std::mutex> guard{mtx_};
  auto& e = get(key);
  if (e.breaker.allow(now))
    return {};
  ++e.rejected;
  ++totals_.rejected;
  return {false, e.breaker.retry_after(now), e.breaker.failures()};
}

void breaker_table::record(const std::string& key, bool ok, time_point now) {
  if (!enabled_)
    return;
  std::string line;
  bool warn = false;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto& e = get(key);
    auto before = e.breaker.state(now);
    if (ok)
      e.breaker.record_success(now);
    else
      e.breaker.record_failure(now);
    auto after = e.breaker.state(now);
    if (after == breaker_state::open && before != breaker_state::open) {
      ++e.opened;
      ++totals_.opened;
      warn = true;
      line = "circuit " + key + " opened after " + std::to_string(e.breaker.failures())
             + " consecutive failure(s); calls are refused for " + seconds_text(e.breaker.retry_after(now))
             + ", then one trial call goes";
    } else if (after == breaker_state::closed && before == breaker_state::half_open) {
      ++totals_.closed;
      line = "circuit " + key + " closed again: a trial call succeeded";
    }
  }
  if (warn)
    log::warning(log_path_, line);
  else if (!line.empty())
    log::info(log_path_, line);
}

breaker_status breaker_table::status_of(const std::string& key, const entry& e, time_point now) {
  return breaker_status{key,        std::string{to_string(e.breaker.state(now))},
                        e.breaker.failures(), e.rejected, e.opened, e.breaker.retry_after(now).count()};
}

std::vector<breaker_status> breaker_table::list(time_point now) const {
  std::lock_guard<std::mutex> guard{mtx_};
  std::vector<breaker_status> out;
  out.reserve(map_.size());
  for (auto& [key, e] : map_)
    out.push_back(status_of(key, e, now));
  return out;
}

breaker_status breaker_table::status(const std::string& key, time_point now) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = map_.find(key);
  if (i == map_.end())
    return breaker_status{key, "closed", 0, 0, 0, 0};
  return status_of(key, i->second, now);
}

breaker_totals breaker_table::totals() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return totals_;
}

} // namespace cafmcp::actors
