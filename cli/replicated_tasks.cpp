// Replicated tasks wired into a node: mirror, takeover and remote cancel.
#include "cli/replicated_tasks.hpp"

#include <caf/all.hpp>

#include "actors/core_sup.hpp"
#include "cluster/messages.hpp"
#include "protocol/replicated_tasks.hpp"
#include "supervision/worker.hpp"

namespace cafmcp::cli {

namespace {

caf::behavior task_agent(caf::event_based_actor*, registry_slot registry, std::string /* path */) {
  return {
    [registry](task_cancel_atom, const std::string& id) -> std::string {
      auto tasks = *registry;
      auto outcome = tasks ? tasks->cancel(id) : protocol::cancel_outcome::not_found;
      return std::string{protocol::to_string(outcome)}; // the wire edge
    },
  };
}

} // namespace

supervision::child_spec task_agent_spec(registry_slot registry, std::shared_ptr<actors::name_table> names) {
  return actors::registered(supervision::worker_child("task_agent", task_agent, registry), std::move(names));
}

void replicate_tasks(protocol::endpoint_env& env, std::shared_ptr<actors::name_table> names, std::string node,
                     std::chrono::milliseconds task_ttl, const orphan_slot& slot, const registry_slot& registry) {
  *registry = env.tasks;
  env.cancel_remote_task = [names](const std::string& owner, const std::string& id,
                                   std::function<void(const protocol::cancel_reply&)> done) {
    auto node_actor = names->lookup("node");
    if (!node_actor)
      return done({std::nullopt, "this node is not in a cluster right now"});
    // (The id as an argument: argument-less function actors trip UBSan in CAF 0.17.)
    node_actor->home_system().spawn([node_actor, owner, done](caf::event_based_actor* self, std::string id) {
      self->request(node_actor, std::chrono::seconds(5), cluster::call_atom::value, owner, std::string{"task_agent"},
                    caf::make_message(task_cancel_atom::value, id))
        .then(
          [done](std::string& text) {
            auto outcome = protocol::cancel_outcome_from_string(text);
            done({outcome, outcome ? std::string{} : text});
          },
          [done, self](caf::error& err) { done({std::nullopt, self->system().render(err)}); });
    }, id);
  };
  env.tasks->set_mirror(protocol::replicated_task_mirror(names, node, task_ttl));
  *slot = protocol::take_over_orphaned_tasks(std::make_shared<protocol::endpoint>(env), env.tasks, names, node);
}

} // namespace cafmcp::cli
