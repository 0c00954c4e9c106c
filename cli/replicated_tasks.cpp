#include "cli/replicated_tasks.hpp"

#include <caf/all.hpp>

#include "actors/core_sup.hpp"
#include "cluster/messages.hpp"
#include "base/log.hpp"
#include "supervision/worker.hpp"

namespace cafmcp::cli {

using nlohmann::json;

namespace {

caf::behavior task_agent(caf::event_based_actor*, registry_slot registry, std::string /* path */) {
  return {
    [registry](task_cancel_atom, const std::string& id) -> std::string {
      auto tasks = *registry;
      if (!tasks)
        return "not_found";
      switch (tasks->cancel(id)) {
        case protocol::task_registry::cancel_outcome::cancelled: return "cancelled";
        case protocol::task_registry::cancel_outcome::already_ended: return "already_ended";
        case protocol::task_registry::cancel_outcome::not_found: break;
      }
      return "not_found";
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
                                   std::function<void(std::string)> done) {
    auto node_actor = names->lookup("node");
    if (!node_actor)
      return done("this node is not in a cluster right now");
    // (The id as an argument: argument-less function actors trip UBSan in CAF 0.17.)
    node_actor->home_system().spawn([node_actor, owner, done](caf::event_based_actor* self, std::string id) {
      self->request(node_actor, std::chrono::seconds(5), cluster::call_atom::value, owner, std::string{"task_agent"},
                    caf::make_message(task_cancel_atom::value, id))
        .then([done](std::string& outcome) { done(outcome); },
              [done, self](caf::error& err) { done(self->system().render(err)); });
    }, id);
  };
  env.tasks->set_mirror([names, node, task_ttl](const std::string& id, const json& task, const json& origin) {
    auto replicator = names->lookup("replicator");
    if (!replicator)
      return; // restarting: the next change carries the state
    if (!origin.is_null()) {
      json info = origin;
      info["kind"] = "task";
      info["owner"] = node;
      if (origin.value("resumed", false)) // the record exists: this node owns it now
        caf::anon_send(replicator, actors::session_info_atom::value, id, info.dump());
      else
        caf::anon_send(replicator, actors::session_create_atom::value, static_cast<int64_t>(task_ttl.count()), id,
                       info.dump());
    }
    caf::anon_send(replicator, actors::session_put_atom::value, id, std::string{"state"}, task.dump());
  });
  auto resumer = std::make_shared<protocol::endpoint>(env);
  auto tasks = env.tasks;
  *slot = [resumer, tasks, names, node](const actors::session_record& rec) {
    if (tasks->get(rec.id))
      return; // it runs here
    auto info = json::parse(rec.info, nullptr, false);
    auto tool = info.value("tool", "");
    std::string why;
    if (info.value("idempotent", false)) {
      why = resumer->resume_task(rec.id, tool, info.value("arguments", json::object()));
      if (why.empty()) {
        log::info("/", "task " + rec.id + " (" + tool + ") runs again on " + node + ": its node "
                         + info.value("owner", "?") + " is gone");
        return;
      }
    } else {
      why = "tool " + tool + " is not idempotent, so it is not run again";
    }
    auto state = rec.data.count("state") ? json::parse(rec.data.at("state"), nullptr, false) : json::object();
    if (!state.is_object())
      state = json::object();
    state["taskId"] = rec.id;
    state["status"] = "failed";
    state.erase("statusMessage");
    state["lastUpdatedAt"] = protocol::iso8601(std::chrono::system_clock::now());
    state["error"] = {{"code", -32603},
                      {"message", "the node running this task (" + info.value("owner", "?") + ") is gone and " + why}};
    log::warning("/", "task " + rec.id + " failed: its node " + info.value("owner", "?") + " is gone and " + why);
    if (auto replicator = names->lookup("replicator"))
      caf::anon_send(replicator, actors::session_put_atom::value, rec.id, std::string{"state"}, state.dump());
  };
}

} // namespace cafmcp::cli
