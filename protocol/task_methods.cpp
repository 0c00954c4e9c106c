// tasks/get, tasks/update, tasks/cancel: for tasks of this node's registry, and for other nodes' tasks through their replicated record.
#include "protocol/endpoint.hpp"

#include "protocol/detail/endpoint_state.hpp"
#include "protocol/task_record.hpp"
#include "protocol/versions.hpp"

namespace cafmcp::protocol {

using namespace detail;

void endpoint::handle_task_method(const rpc_message& msg, const sink_ptr& out) {
  auto& params = params_object(msg);
  auto id = required_string(params, "taskId");
  auto& m = msg.method;
  // A task is its tenant's: to any other caller it does not exist.
  auto tenant = out->tenant();
  if (!env_.tasks->get(id, tenant) && env_.session_manager && env_.session_manager())
    return remote_task_method(msg, out, id);
  if (m == "tasks/get") {
    auto task = env_.tasks->get(id, tenant);
    if (!task)
      fail(rpc_code::invalid_params, "Failed to retrieve task: Task not found or expired", json{{"taskId", id}});
    out->respond(make_result(msg.id, modern_result(std::move(*task), false)));
  } else if (m == "tasks/update") {
    auto responses = params.find("inputResponses");
    if (responses == params.end() || !responses->is_object())
      fail(rpc_code::invalid_params, "tasks/update needs \"inputResponses\" (an object)");
    if (!env_.tasks->get(id, tenant))
      fail(rpc_code::invalid_params, "Failed to update task: Task not found or expired", json{{"taskId", id}});
    // cafmcp's tasks never wait for input (tools that ask run synchronously),
    // so no key is outstanding: ignored, as the extension asks.
    out->respond(make_result(msg.id, modern_result(json::object(), false)));
  } else {
    if (env_.tasks->cancel(id, tenant) == cancel_outcome::not_found)
      fail(rpc_code::invalid_params, "Failed to cancel task: Task not found or expired", json{{"taskId", id}});
    out->respond(make_result(msg.id, modern_result(json::object(), false)));
  }
}

void endpoint::remote_task_method(const rpc_message& msg, const sink_ptr& out, const std::string& id) {
  auto method = msg.method;
  auto request_id = msg.id;
  auto tenant = out->tenant();
  std::weak_ptr<endpoint> weak = weak_from_this();
  auto verb = method == "tasks/get" ? "retrieve" : method == "tasks/update" ? "update" : "cancel";
  auto not_found = [=] {
    out->respond(make_error(request_id, rpc_error{rpc_code::invalid_params,
                                                  std::string{"Failed to "} + verb + " task: Task not found or expired",
                                                  json{{"taskId", id}}}));
  };
  // Answered when the record comes (this is an I/O thread: it must not wait).
  fetch_record(env_.session_manager(), id, [=](std::optional<actors::session_record> rec) {
    if (!rec)
      return not_found();
    auto task = task_record::from_info(rec->info);
    auto field = rec->data.find(task_state_field);
    auto found = field == rec->data.end() ? std::nullopt : parse_task_state(field->second);
    if (!task || !found || task->tenant != tenant)
      return not_found();
    auto& state = *found;
    auto ep = weak.lock();
    if (!ep)
      return;
    if (method == "tasks/get")
      return out->respond(make_result(request_id, ep->modern_result(std::move(state), false)));
    if (method == "tasks/update" || state.value("status", "") != "working")
      return out->respond(make_result(request_id, ep->modern_result(json::object(), false)));
    auto owner = task->owner;
    auto refuse = [=](const std::string& why) {
      out->respond(make_error(request_id, rpc_error{rpc_code::invalid_params, "Failed to cancel task: " + why,
                                                    json{{"taskId", id}, {"node", owner}}}));
    };
    if (!ep->env_.cancel_remote_task)
      return refuse("it runs on node " + owner + ", which alone can stop it");
    // Only the node running the call can stop it: ask that one.
    ep->env_.cancel_remote_task(owner, id, [=](const cancel_reply& reply) {
      auto self = weak.lock();
      if (!self)
        return;
      if (!reply.outcome)
        return refuse("node " + owner + " did not answer: " + reply.error);
      if (*reply.outcome == cancel_outcome::not_found)
        return refuse("node " + owner + " does not run it (it is being taken over)");
      out->respond(make_result(request_id, self->modern_result(json::object(), false)));
    });
  });
}

std::string endpoint::resume_task(const std::string& id, const std::string& tool, const json& arguments,
                                  const std::string& tenant) {
  struct discard : request_sink {
    explicit discard(std::string t) : org(std::move(t)) {}
    void notify(const json&) override {}
    void respond(const json&) override {} // "the task is created": nobody asked
    std::string tenant() const override { return org; } // it runs as its tenant's: same view, same owner
    std::string org;
  };
  rpc_message msg;
  msg.method = "tools/call";
  msg.id = "resume-" + id;
  msg.params = json{{"name", tool},
                    {"arguments", arguments},
                    {"_meta",
                     {{meta_key::protocol_version, "2026-07-28"},
                      {meta_key::client_capabilities, {{"extensions", {{tasks_extension, json::object()}}}}}}}};
  try {
    call_tool(msg, true, std::make_shared<discard>(tenant), json::object(), nullptr, id);
  } catch (const protocol_error& e) {
    return e.err.message;
  }
  return {};
}

} // namespace cafmcp::protocol
