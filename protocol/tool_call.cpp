// tools/call: argument checks, backpressure, tasks, and input_required rounds with a sealed requestState.
#include "protocol/endpoint.hpp"

#include <caf/all.hpp>

#include "base/crypto.hpp"
#include "base/log.hpp"
#include "protocol/detail/endpoint_state.hpp"
#include "protocol/json_schema.hpp"
#include "protocol/route_choice.hpp"
#include "protocol/task_record.hpp"
#include "protocol/tool_runner.hpp"
#include "protocol/versions.hpp"

namespace cafmcp::protocol {

using namespace detail;

namespace {

const char* input_required_note = "input_required";

/// An inline tool's call (tool_def::inline_handler), run on this thread:
/// no job, no worker. Returns its response.
json run_inline(const tool_def& tool, const json& id, const json& args, const trace::context& parent,
                const std::function<json(json)>& decorate, const std::function<void(bool)>& on_outcome) {
  trace::span span;
  if (trace::enabled()) {
    span = trace::start_span("tool " + tool.name, trace::span_kind::internal, parent);
    span.set("gen_ai.tool.name", tool.name);
  }
  if (log::enabled(log::level::debug))
    log::debug("/root/protocol_sup/tool_sup", "tools/call " + tool.name + " (inline)");
  json response;
  bool failed = false;
  try {
    response = make_result(id, decorate(tool.inline_handler(args).to_json()));
  } catch (const std::exception& e) {
    log::error("/root/protocol_sup/tool_sup", "tool " + tool.name + " failed: " + e.what());
    response = make_error(id, rpc_error{rpc_code::internal_error, "tool " + tool.name + " failed: " + e.what(), nullptr});
    failed = true;
  }
  if (on_outcome)
    on_outcome(failed);
  record_outcome(span, response);
  return response;
}

/// Counts a routed call's failure and its duration by route and target.
std::function<void(bool)> route_outcome(metrics::metrics_registry& m, const route_decision& d) {
  // (failed: answered -32603, the target or its upstream failed, or the
  // call was dropped; refused before it ran: busy, no worker.)
  metrics::metric_labels labels{{"route", d.rule}, {"target", target_label(d)}};
  auto* errors = &m.counter("cafmcp_route_errors_total", "Routed calls that failed (-32603: the target or its upstream failed)", labels);
  auto* seconds = &m.histogram("cafmcp_route_call_duration_seconds", "Routed calls from the decision to their outcome",
                               labels, metrics::metrics_registry::latency_buckets());
  return [errors, seconds, start = std::chrono::steady_clock::now()](bool failed) {
    if (failed)
      errors->inc();
    seconds->observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  };
}

/// The tool another member runs for a call routed there: this node's
/// definition of it (members serve the same catalog; without one the
/// member checks the arguments), with a handler that hands the call over.
std::shared_ptr<const tool_def> member_tool(const std::shared_ptr<member_calls>& members, const std::string& member,
                                            const std::string& name, const tool_def* local) {
  auto t = std::make_shared<tool_def>(local ? *local : tool_def{});
  t->name = name;
  t->inline_handler = nullptr;
  t->available = nullptr;
  t->handler = [members, member, name](const json& args, std::shared_ptr<tool_call> call) {
    members->call(member, name, args, std::move(call));
  };
  return t;
}

} // namespace

void endpoint::call_tool(const rpc_message& msg, bool modern, const sink_ptr& out, json responses, json state,
                         std::string task_id) {
  auto& params = params_object(msg);
  auto name = required_string(params, "name");
  auto cat = env_.catalog->snapshot();
  // A tool outside the caller's tenant's view does not exist for it.
  if (env_.tenants && !env_.tenants->sees(out->tenant(), name))
    fail(rpc_code::invalid_params, "Unknown tool: " + name);
  // Tool names are at most 128 characters (MCP): a longer one is unknown
  // and never reaches the rules (their regexes recurse per character).
  // One table for the whole decision: a new version may replace it meanwhile.
  std::optional<route_decision> routed;
  if (auto routes = routes_for(env_, *out); routes && name.size() <= 128) {
    auto now = std::chrono::steady_clock::now();
    auto closed = [&](const std::string& breaker) {
      return !env_.breakers || env_.breakers->status(breaker, now).state != "open";
    };
    auto here = [&](const std::string& tool) {
      auto* t = cat->find_tool(tool);
      return t && (!t->available || t->available()) && closed("tool:" + tool);
    };
    // There: that tool's breaker here, counting the calls that failed there.
    auto there = [&](const std::string& tool, const std::string& member) { return closed("tool:" + tool + "@" + member); };
    if ((routed = choose_route(env_, *routes, "tools/call", name, *out, here, there, "Tool")))
      name = routed->tool;
  }
  std::shared_ptr<const tool_def> remote; // run by another member
  if (routed && !routed->member.empty() && env_.members && routed->member != env_.members->me())
    remote = member_tool(env_.members, routed->member, name, cat->find_tool(name));
  auto* tool = remote ? remote.get() : cat->find_tool(name);
  if (!tool)
    fail(rpc_code::invalid_params, "Unknown tool: " + name);
  // Read in place: a worker's job copies them, an inline call does not.
  static const json no_object = json::object();
  const json* args_in = &no_object;
  if (auto a = params.find("arguments"); a != params.end() && !a->is_null()) {
    if (!a->is_object())
      fail(rpc_code::invalid_params, "\"arguments\" must be an object");
    args_in = &*a;
  }
  const json& args = *args_in;
  auto meta_in = params.find("_meta");
  const json& meta = meta_in == params.end() ? no_object : *meta_in;
  if (!meta.is_object())
    fail(rpc_code::invalid_params, "\"_meta\" must be an object");
  json caps = json::object();
  std::string log_level;
  std::string principal; // whom a sealed requestState belongs to
  if (modern) {
    auto c = meta.find(meta_key::client_capabilities);
    caps = c == meta.end() ? json{} : *c;
    log_level = meta.value(meta_key::log_level, "");
    // A retry of an input_required round: verify what the client echoes.
    if (auto rs = params.find("requestState"); rs != params.end()) {
      if (!rs->is_string())
        fail(rpc_code::invalid_params, "\"requestState\" must be a string");
      auto opened = env_.sealer->open(rs->get<std::string>());
      if (auto* why = std::get_if<std::string>(&opened))
        fail(rpc_code::invalid_params, *why);
      auto& payload = std::get<json>(opened);
      if (payload.value("tool", "") != name || payload.value("args", "") != crypto::sha256_hex(args.dump()))
        fail(rpc_code::invalid_params, "requestState was minted for another request (tool or arguments differ)");
      // It may continue a live call (an upstream's): only for whom it was minted.
      if (payload.value("subject", "") != out->subject() || payload.value("tenant", "") != out->tenant())
        fail(rpc_code::invalid_params, "requestState was minted for another caller (subject or tenant differ)");
      state = payload["state"];
    }
    if (auto ir = params.find("inputResponses"); ir != params.end() && !ir->is_null()) {
      if (!ir->is_object())
        fail(rpc_code::invalid_params, "\"inputResponses\" must be an object");
      responses = *ir;
    }
  } else {
    std::lock_guard<std::mutex> guard{mtx_};
    if (session_) {
      caps = session_->client_capabilities;
      log_level = session_->log_level.empty() ? "info" : session_->log_level;
      principal = session_->id;
    }
  }
  auto decorate = [this, modern](json r) { return modern ? modern_result(std::move(r), false) : r; };
  // Invalid arguments are a tool execution error the model can correct.
  if (auto violations = validate_schema(tool->input_schema, args); !violations.empty()) {
    std::string text = "Invalid arguments for tool " + name + ":";
    for (auto& v : violations)
      text += " " + v.to_string() + ";";
    text.pop_back();
    out->respond(make_result(msg.id, decorate(tool_result::error(text).to_json())));
    return;
  }
  // Per-tool limits and the tool's breaker refuse before anything runs.
  auto now = std::chrono::steady_clock::now();
  if (env_.limits && out->limited()) {
    if (auto d = env_.limits->take_tool(name, now); !d.allowed) {
      auto e = rate_limited_error("tool:" + name, d.retry_after_ms);
      fail(e.code, e.message, e.data);
    }
  }
  std::string breaker = "tool:" + (routed ? routed->target() : name); // a member's: "tool:NAME@MEMBER"
  if (env_.breakers) {
    if (auto v = env_.breakers->allow(breaker, now); !v.allowed)
      fail(mcp_code::unavailable,
           "Tool " + name + " is unavailable: its circuit opened after " + std::to_string(v.failures)
             + " consecutive failures; a trial call goes in " + std::to_string(v.retry_after.count()) + " ms",
           json{{"retryAfterMs", v.retry_after.count()}, {"breaker", breaker}});
  }
  bool as_task = !task_id.empty()
                 || (modern && tool->task_capable && declares_tasks(caps) && responses.empty() && state.is_null());
  std::function<void(bool)> on_outcome;
  if (env_.breakers)
    on_outcome = [breakers = env_.breakers, breaker](bool failed) {
      breakers->record(breaker, !failed, std::chrono::steady_clock::now());
    };
  // A routed call's outcome is counted once: refused here before it runs
  // (busy, no worker, too many tasks), or when it ends.
  std::function<void(bool)> routed_outcome;
  if (routed && env_.route_metrics)
    routed_outcome = route_outcome(*env_.route_metrics, *routed);
  auto refuse = [&routed_outcome](int code, const std::string& message, json data = nullptr) {
    if (routed_outcome)
      routed_outcome(true);
    fail(code, message, std::move(data));
  };
  if (routed_outcome)
    on_outcome = [breaker_outcome = std::move(on_outcome), routed_outcome](bool failed) {
      if (breaker_outcome)
        breaker_outcome(failed);
      routed_outcome(failed);
    };
  // Backpressure: a bounded number of calls in flight, never an unbounded queue.
  if (env_.inflight->fetch_add(1) >= env_.max_inflight) {
    env_.inflight->fetch_sub(1);
    refuse(mcp_code::server_busy, "Server busy: " + std::to_string(env_.max_inflight)
                                    + " tool calls in flight; retry later");
  }
  struct release_on_throw {
    std::shared_ptr<std::atomic<size_t>> counter;
    bool armed = true;
    ~release_on_throw() {
      if (armed)
        counter->fetch_sub(1);
    }
  } slot{env_.inflight};
  // A pure tool runs right here, unless it must run as a task or a chaos
  // experiment may fail or stall tool calls (a worker does both).
  if (tool->inline_handler && !as_task && !(env_.faults && env_.faults->tools_active())) {
    auto response = run_inline(*tool, msg.id, args, out->trace_context(), decorate, on_outcome);
    // The slot is free before the response can be read (as call_job::answer does).
    slot.armed = false;
    env_.inflight->fetch_sub(1);
    out->respond(response);
    return;
  }
  auto worker = env_.tool_worker ? env_.tool_worker() : caf::actor{};
  if (!worker)
    refuse(rpc_code::internal_error, "no tool worker is running (the node is stopping or restarting them)");
  auto job = std::make_shared<call_job>();
  job->snapshot = cat;
  job->store = env_.catalog;
  job->tool = tool;
  job->owned_tool = remote;
  job->id = msg.id;
  job->arguments = args;
  job->meta = meta;
  job->session_manager = env_.session_manager;
  job->sealer = env_.sealer;
  job->decorate = decorate;
  job->client_capabilities = caps.is_object() ? caps : json::object();
  job->log_level = log_level;
  job->input_responses = std::move(responses);
  job->request_state = std::move(state);
  job->session_handle = principal;
  job->correlation_id = out->correlation_id();
  job->subject = out->subject();
  job->tenant = out->tenant();
  job->trace = out->trace_context();
  job->faults = env_.faults;
  job->on_outcome = std::move(on_outcome);
  std::weak_ptr<endpoint> weak = weak_from_this();
  if (as_task) {
    // The Tasks extension: answer at once with the task; the call runs on
    // and reports into the registry, which tasks/get reads.
    bool idempotent = tool->annotations.is_object() && tool->annotations.value("idempotentHint", false);
    auto task = env_.tasks->create(name, job->cancelled,
                                   task_record{{}, name, args, idempotent, !task_id.empty(), out->tenant()}, task_id);
    if (!task)
      refuse(mcp_code::server_busy, "Server busy: too many tasks are live; retry later");
    job->sink = make_task_sink(env_.tasks, (*task)["taskId"].get<std::string>());
    job->log_level.clear();
    slot.armed = false;
    job->on_finish = [inflight = env_.inflight] { inflight->fetch_sub(1); };
    caf::anon_send(worker, std::move(job));
    (*task)["resultType"] = "task";
    out->respond(make_result(msg.id, modern_result(std::move(*task), false)));
    return;
  }
  job->sink = out;
  if (modern) {
    job->on_input = [sealer = env_.sealer, info = server_info_, out](const call_job& j, json requests, json st) {
      // The state is bound to this tool and these arguments.
      json result{{"resultType", input_required_note}, {"inputRequests", std::move(requests)}};
      result["requestState"] = sealer->seal(json{{"tool", j.tool->name},
                                                 {"args", crypto::sha256_hex(j.arguments.dump())},
                                                 {"subject", j.subject},
                                                 {"tenant", j.tenant},
                                                 {"state", std::move(st)}});
      result["_meta"][meta_key::server_info] = info;
      out->respond(make_result(j.id, std::move(result)));
    };
  } else {
    job->on_input = [weak, msg, out](const call_job&, json requests, json st) {
      if (auto self = weak.lock())
        self->ask_client(msg, out, requests, std::move(st));
    };
  }
  auto key = id_key(msg.id);
  {
    std::lock_guard<std::mutex> guard{mtx_};
    running_[key] = job->cancelled;
  }
  auto flag = job->cancelled;
  slot.armed = false; // from here the job gives the slot back when it is answered
  job->on_finish = [weak, key, flag, inflight = env_.inflight] {
    inflight->fetch_sub(1);
    if (auto self = weak.lock()) {
      std::lock_guard<std::mutex> guard{self->mtx_};
      if (auto i = self->running_.find(key); i != self->running_.end() && i->second == flag)
        self->running_.erase(i);
    }
  };
  caf::anon_send(worker, std::move(job));
}


} // namespace cafmcp::protocol
