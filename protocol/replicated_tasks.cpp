// Tasks that outlive their node: the record mirror and the failover policy.
#include "protocol/replicated_tasks.hpp"

#include <caf/all.hpp>

#include "base/log.hpp"
#include "protocol/endpoint.hpp"

namespace cafmcp::protocol {

using nlohmann::json;

task_mirror replicated_task_mirror(std::shared_ptr<actors::name_table> names, std::string node,
                                   std::chrono::milliseconds ttl) {
  return [names, node, ttl](const std::string& id, const json& task, const task_record* origin) {
    auto replicator = names->lookup("replicator");
    if (!replicator)
      return; // restarting: the next change carries the state
    if (origin) {
      auto rec = *origin;
      rec.owner = node;
      auto info = rec.to_json().dump();
      if (rec.resumed) // the record exists: this node owns it now
        caf::anon_send(replicator, actors::session_info_atom::value, id, std::move(info));
      else
        caf::anon_send(replicator, actors::session_create_atom::value, static_cast<int64_t>(ttl.count()), id,
                       std::move(info));
    }
    caf::anon_send(replicator, actors::session_put_atom::value, id, std::string{task_state_field}, task.dump());
  };
}

json failed_task_state(std::optional<json> last, const std::string& id, const std::string& owner,
                       const std::string& why, std::chrono::system_clock::time_point now) {
  auto state = last ? std::move(*last) : json::object();
  state["taskId"] = id;
  state["status"] = "failed";
  state.erase("statusMessage");
  state["lastUpdatedAt"] = iso8601(now);
  state["error"] = {{"code", -32603}, {"message", "the node running this task (" + owner + ") is gone and " + why}};
  return state;
}

std::function<void(const actors::session_record&)> take_over_orphaned_tasks(std::shared_ptr<endpoint> resumer,
                                                                             std::shared_ptr<task_registry> tasks,
                                                                             std::shared_ptr<actors::name_table> names,
                                                                             std::string node) {
  return [resumer, tasks, names, node](const actors::session_record& rec) {
    if (tasks->get(rec.id))
      return; // it runs here
    // A record the replicator took for a task but that does not parse as
    // one is failed like a task whose tool is unknown: never left working.
    auto task = task_record::from_info(rec.info).value_or(task_record{});
    auto owner = task.owner.empty() ? std::string{"?"} : task.owner;
    std::string why;
    if (task.idempotent) {
      why = resumer->resume_task(rec.id, task.tool, task.arguments, task.tenant);
      if (why.empty()) {
        log::info("/", "task " + rec.id + " (" + task.tool + ") runs again on " + node + ": its node " + owner
                         + " is gone");
        return;
      }
    } else {
      why = "tool " + task.tool + " is not idempotent, so it is not run again";
    }
    auto field = rec.data.find(task_state_field);
    auto last = field == rec.data.end() ? std::nullopt : parse_task_state(field->second);
    auto state = failed_task_state(std::move(last), rec.id, owner, why, std::chrono::system_clock::now());
    log::warning("/", "task " + rec.id + " failed: its node " + owner + " is gone and " + why);
    if (auto replicator = names->lookup("replicator"))
      caf::anon_send(replicator, actors::session_put_atom::value, rec.id, std::string{task_state_field},
                     state.dump());
  };
}

} // namespace cafmcp::protocol
