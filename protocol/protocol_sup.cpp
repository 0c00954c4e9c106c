// Tier 2: protocol_sup and its children's specs.
#include "protocol/protocol_sup.hpp"

#include "actors/core_sup.hpp"
#include "protocol/tool_runner.hpp"
#include "supervision/supervisor.hpp"

namespace cafmcp::protocol {

using namespace supervision;

child_spec protocol_supervisor(supervisor_flags flags, size_t tool_workers,
                               std::shared_ptr<actors::name_table> names, std::vector<child_spec> extra,
                               backoff_policy listener_backoff) {
  auto sofo = flags;
  sofo.how = strategy::simple_one_for_one;
  auto top = flags;
  top.how = strategy::one_for_one;
  auto listener = function_child_template("listener");
  listener.backoff = listener_backoff;
  std::vector<child_spec> children{
    actors::registered(
      supervisor_child("server_sup", sofo, {function_child_template("session", restart_type::temporary)}), names),
    actors::registered(supervisor_child("transport_sup", sofo, {listener}), names),
    tool_supervisor(top, tool_workers, names),
  };
  for (auto& c : extra)
    children.push_back(std::move(c));
  return supervisor_child("protocol_sup", top, std::move(children));
}

} // namespace cafmcp::protocol
