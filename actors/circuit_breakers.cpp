// The circuit_breakers actor: the node's breaker table asked and told through messages.
#include "actors/circuit_breakers.hpp"

#include <caf/all.hpp>

#include "actors/messages.hpp"
#include "supervision/worker.hpp"

namespace cafmcp::actors {

namespace {

caf::behavior breakers_actor(caf::event_based_actor*, std::shared_ptr<breaker_table> table, const std::string&) {
  using clock = std::chrono::steady_clock;
  return {
    [table](breaker_allow_atom, const std::string& key) { return table->allow(key, clock::now()).allowed; },
    [table](breaker_success_atom, const std::string& key) { table->record(key, true, clock::now()); },
    [table](breaker_failure_atom, const std::string& key) { table->record(key, false, clock::now()); },
    [table](breaker_state_atom, const std::string& key) { return table->status(key, clock::now()); },
    [table](breaker_list_atom) { return table->list(clock::now()); },
  };
}

} // namespace

supervision::child_spec circuit_breakers_spec(std::shared_ptr<breaker_table> table) {
  return supervision::worker_child("circuit_breakers", breakers_actor, std::move(table));
}

} // namespace cafmcp::actors
