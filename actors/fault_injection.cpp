// Chaos faults with deadlines, decided per inter-node message and per tool call.
#include "actors/fault_injection.hpp"

#include <algorithm>

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
}

void fault_injection::remove(const std::string& experiment) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto gone = [&experiment](auto& e) { return e.experiment == experiment; };
  network_.erase(std::remove_if(network_.begin(), network_.end(), gone), network_.end());
  tools_.erase(std::remove_if(tools_.begin(), tools_.end(), gone), tools_.end());
  any_ = !network_.empty() || !tools_.empty();
}

void fault_injection::refresh(time_point now) {
  auto expired = [now](auto& e) { return e.until <= now; };
  network_.erase(std::remove_if(network_.begin(), network_.end(), expired), network_.end());
  tools_.erase(std::remove_if(tools_.begin(), tools_.end(), expired), tools_.end());
  any_ = !network_.empty() || !tools_.empty();
}

fault_verdict fault_injection::on_message(const std::string& from, const std::string& to, time_point now) {
  fault_verdict out;
  if (!any_.load(std::memory_order_relaxed))
    return out;
  std::lock_guard<std::mutex> guard{mtx_};
  refresh(now);
  std::uniform_real_distribution<double> unit{0, 1};
  for (auto& e : network_) {
    auto& f = e.fault;
    if (!glob_match(f.from, from) || !glob_match(f.to, to))
      continue;
    if (f.drop > 0 && unit(rng_) < f.drop) {
      ++injected_[e.experiment];
      return fault_verdict{true, std::chrono::milliseconds{0}, e.experiment};
    }
    if (f.delay.count() > 0) {
      ++injected_[e.experiment];
      out.delay += f.delay;
      out.experiment = e.experiment;
    }
  }
  return out;
}

fault_verdict fault_injection::on_tool_call(const std::string& tool, time_point now) {
  fault_verdict out;
  if (!any_.load(std::memory_order_relaxed))
    return out;
  std::lock_guard<std::mutex> guard{mtx_};
  refresh(now);
  std::uniform_real_distribution<double> unit{0, 1};
  for (auto& e : tools_) {
    auto& f = e.fault;
    if (!glob_match(f.tool, tool))
      continue;
    if (f.fail > 0 && unit(rng_) < f.fail) {
      ++injected_[e.experiment];
      return fault_verdict{true, std::chrono::milliseconds{0}, e.experiment};
    }
    if (f.stall > 0 && unit(rng_) < f.stall) {
      ++injected_[e.experiment];
      out.delay += f.stall_for;
      out.experiment = e.experiment;
    }
  }
  return out;
}

std::map<std::string, uint64_t> fault_injection::injected() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return injected_;
}

} // namespace cafmcp::actors
