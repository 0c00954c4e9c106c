// Chaos faults with deadlines, decided per inter-node message and per tool call.
#include "actors/fault_injection.hpp"

#include <algorithm>
#include <tuple>

#include <fnmatch.h>

namespace cafmcp::actors {

bool glob_match(const std::string& glob, const std::string& text) {
  return ::fnmatch(glob.c_str(), text.c_str(), 0) == 0;
}

void fault_injection::add(const std::string& experiment, network_fault f, time_point until) {
  std::lock_guard<std::mutex> guard{mtx_};
  network_.push_back({experiment, std::move(f), until});
  any_ = true;
}

void fault_injection::add(const std::string& experiment, tool_fault f, time_point until) {
  std::lock_guard<std::mutex> guard{mtx_};
  tools_.push_back({experiment, std::move(f), until});
  any_ = true;
  any_tool_ = true;
}

void fault_injection::remove(const std::string& experiment) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto gone = [&experiment](auto& e) { return e.experiment == experiment; };
  network_.erase(std::remove_if(network_.begin(), network_.end(), gone), network_.end());
  tools_.erase(std::remove_if(tools_.begin(), tools_.end(), gone), tools_.end());
  any_ = !network_.empty() || !tools_.empty();
  any_tool_ = !tools_.empty();
}

void fault_injection::refresh(time_point now) {
  auto expired = [now](auto& e) { return e.until <= now; };
  network_.erase(std::remove_if(network_.begin(), network_.end(), expired), network_.end());
  tools_.erase(std::remove_if(tools_.begin(), tools_.end(), expired), tools_.end());
  any_ = !network_.empty() || !tools_.empty();
  any_tool_ = !tools_.empty();
}

template <class F, class Matches, class Odds>
fault_verdict fault_injection::decide(std::vector<entry<F>>& entries, time_point now, Matches matches, Odds odds) {
  fault_verdict out;
  if (!any_.load(std::memory_order_relaxed))
    return out;
  std::lock_guard<std::mutex> guard{mtx_};
  refresh(now);
  std::uniform_real_distribution<double> unit{0, 1};
  for (auto& e : entries) {
    if (!matches(e.fault))
      continue;
    auto [drop, hold, hold_for] = odds(e.fault);
    if (drop > 0 && unit(rng_) < drop) {
      ++injected_[e.experiment];
      return fault_verdict{true, std::chrono::milliseconds{0}, e.experiment};
    }
    if (hold_for.count() > 0 && hold > 0 && unit(rng_) < hold) {
      ++injected_[e.experiment];
      out.delay += hold_for;
      out.experiment = e.experiment;
    }
  }
  return out;
}

fault_verdict fault_injection::on_message(const std::string& from, const std::string& to, time_point now) {
  return decide(
    network_, now, [&](const network_fault& f) { return glob_match(f.from, from) && glob_match(f.to, to); },
    [](const network_fault& f) { return std::make_tuple(f.drop, 1.0, f.delay); });
}

fault_verdict fault_injection::on_tool_call(const std::string& tool, time_point now) {
  return decide(
    tools_, now, [&](const tool_fault& f) { return glob_match(f.tool, tool); },
    [](const tool_fault& f) { return std::make_tuple(f.fail, f.stall, f.stall_for); });
}

std::map<std::string, uint64_t> fault_injection::injected() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return injected_;
}

} // namespace cafmcp::actors
