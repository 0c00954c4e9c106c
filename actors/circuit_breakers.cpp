// The circuit_breakers actor: one circuit breaker per key.
#include "actors/circuit_breakers.hpp"

#include <unordered_map>

#include <caf/all.hpp>

#include "actors/messages.hpp"
#include "base/log.hpp"
#include "supervision/worker.hpp"

namespace cafmcp::actors {

namespace {

struct breakers_state {
  std::unordered_map<std::string, circuit_breaker> breakers;
};

caf::behavior breakers_actor(caf::stateful_actor<breakers_state>* self, breaker_config cfg,
                             std::string path) {
  auto& map = self->state.breakers;
  auto get = [&map, cfg](const std::string& key) -> circuit_breaker& {
    auto i = map.find(key);
    if (i == map.end())
      i = map.emplace(key, circuit_breaker{cfg}).first;
    return i->second;
  };
  auto status = [](const std::string& key, const circuit_breaker& b) {
    return breaker_status{key, std::string{to_string(b.state(std::chrono::steady_clock::now()))},
                          b.failures()};
  };
  return {
    [get](breaker_allow_atom, const std::string& key) {
      return get(key).allow(std::chrono::steady_clock::now());
    },
    [get](breaker_success_atom, const std::string& key) {
      get(key).record_success(std::chrono::steady_clock::now());
    },
    [get, path](breaker_failure_atom, const std::string& key) {
      auto& b = get(key);
      auto now = std::chrono::steady_clock::now();
      auto before = b.state(now);
      b.record_failure(now);
      if (before != breaker_state::open && b.state(now) == breaker_state::open)
        log::warning(path, "circuit " + key + " opened after " + std::to_string(b.failures())
                             + " failure(s)");
    },
    [&map, status](breaker_state_atom, const std::string& key) {
      auto i = map.find(key);
      if (i == map.end())
        return breaker_status{key, "closed", 0};
      return status(key, i->second);
    },
    [&map, status](breaker_list_atom) {
      std::vector<breaker_status> out;
      for (auto& [key, b] : map)
        out.push_back(status(key, b));
      return out;
    },
  };
}

} // namespace

supervision::child_spec circuit_breakers_spec(breaker_config cfg) {
  return supervision::worker_child("circuit_breakers", breakers_actor, cfg);
}

} // namespace cafmcp::actors
