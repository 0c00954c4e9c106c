// tools/call on a pool of supervised tool workers.
#include "protocol/tool_runner.hpp"

#include <optional>

#include <caf/all.hpp>

#include "protocol/endpoint.hpp"
#include "protocol/versions.hpp"
#include "actors/core_sup.hpp"
#include "actors/session_manager.hpp"
#include "base/crypto.hpp"
#include "base/log.hpp"
#include "supervision/supervisor.hpp"
#include "supervision/worker.hpp"

namespace cafmcp::protocol {

namespace {

/// A deferred step of a tool handler (tool_call::after); skipped once the
/// call was cancelled or answered.
struct deferred_step {
  std::shared_ptr<call_job> job;
  std::function<void()> fn;
};

} // namespace

} // namespace cafmcp::protocol

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cafmcp::protocol::deferred_step)

namespace cafmcp::protocol {

int log_severity(const std::string& level) {
  static const char* levels[] = {"debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"};
  for (int i = 0; i < 8; ++i)
    if (level == levels[i])
      return i;
  return -1;
}

std::string input_capability(const std::string& method) {
  if (method == "elicitation/create")
    return "elicitation";
  if (method == "sampling/createMessage")
    return "sampling";
  if (method == "roots/list")
    return "roots";
  return "";
}

const char* outcome_of(const nlohmann::json& r) {
  if (r.contains("error"))
    return "error";
  if (r.contains("result") && r["result"].is_object() && r["result"].value("isError", false))
    return "tool_error";
  return "ok";
}

void record_outcome(trace::span& span, const nlohmann::json& response) {
  if (!span.active())
    return;
  std::string_view outcome = outcome_of(response);
  if (outcome == "error") {
    auto& e = response["error"];
    if (span.recording() && e.is_object())
      span.set("rpc.jsonrpc.error_code", e.value("code", int64_t{0}));
    span.fail(e.is_object() ? e.value("message", std::string{}) : std::string{"a JSON-RPC error"});
  } else if (outcome == "tool_error") {
    span.fail("the tool answered with isError");
  }
}

bool call_job::answer(const nlohmann::json& response) {
  if (answered.exchange(true))
    return false;
  // Finish first (the in-flight slot is free) so that whoever reads the
  // response sees the call as done.
  if (on_finish)
    on_finish();
  if (on_outcome) {
    auto e = response.is_object() && response.contains("error") ? response["error"] : nlohmann::json{};
    on_outcome(e.is_object() && e.value("code", 0) == rpc_code::internal_error);
  }
  record_outcome(span, response);
  span.end();
  if (!cancelled->load())
    sink->respond(response);
  return true;
}

bool call_job::hand_off() {
  if (answered.exchange(true))
    return false;
  if (on_finish)
    on_finish();
  if (on_outcome)
    on_outcome(false); // it asked for input: it works
  span.set("mcp.round", std::string{"continues in another round"});
  span.end();
  return true;
}

call_job::~call_job() {
  if (!answered.load() && sink) {
    auto name = tool ? tool->name : std::string{"?"};
    answer(make_error(id, rpc_error{rpc_code::internal_error,
                                    "tool " + name + " ended without a result (it crashed or was stopped)",
                                    nullptr}));
  }
}

namespace {

class tool_call_impl : public tool_call {
public:
  tool_call_impl(caf::event_based_actor* self, call_job_ptr job) : self_(self), job_(std::move(job)) {}

  caf::event_based_actor* self() override { return self_; }
  const nlohmann::json& meta() const override { return job_->meta; }
  const std::string& session_handle() const override { return job_->session_handle; }
  const std::string& subject() const override { return job_->subject; }
  const std::string& tenant() const override { return job_->tenant; }
  std::string new_record_id() const override {
    return job_->tenant.empty() ? actors::make_session_id() : "t" + actors::make_session_id();
  }
  std::string tenant_handle(const std::string& id) const override {
    if (job_->tenant.empty() || !job_->sealer)
      return id;
    return id + "." + crypto::to_hex(job_->sealer->mac("handle\n" + job_->tenant + "\n" + id)).substr(0, 32);
  }
  std::string handle_record(const std::string& handle) const override {
    // A tenant's records have ids of their own ("t…", never hex): a caller
    // without a tenant cannot name one, sealed or bare.
    auto dot = handle.find('.');
    if (job_->tenant.empty() || !job_->sealer)
      return dot == std::string::npos && !is_tenant_record(handle) ? handle : std::string{};
    if (dot == std::string::npos)
      return {};
    auto id = handle.substr(0, dot);
    return is_tenant_record(id) && crypto::constant_time_equal(tenant_handle(id), handle) ? id : std::string{};
  }
  caf::actor session_manager() const override {
    return job_->session_manager ? job_->session_manager() : caf::actor{};
  }

  catalog_store& catalog() override { return *job_->store; }

  void progress(double done, std::optional<double> total, std::string message) override {
    auto token = job_->meta.is_object() ? job_->meta.find("progressToken") : job_->meta.end();
    if (!job_->meta.is_object() || token == job_->meta.end() || job_->cancelled->load()
        || job_->answered.load())
      return;
    nlohmann::json params{{"progressToken", *token}, {"progress", done}};
    if (total)
      params["total"] = *total;
    if (!message.empty())
      params["message"] = std::move(message);
    job_->sink->notify(make_notification("notifications/progress", std::move(params)));
  }

  bool cancelled() const override { return job_->cancelled->load(); }

  void reply(tool_result result) override {
    auto body = result.to_json();
    if (job_->decorate)
      body = job_->decorate(std::move(body));
    job_->answer(make_result(job_->id, std::move(body)));
  }

  void fail(int code, std::string message, nlohmann::json data) override {
    job_->answer(make_error(job_->id, rpc_error{code, std::move(message), std::move(data)}));
  }

  void after(std::chrono::milliseconds delay, std::function<void()> fn) override {
    self_->delayed_send(self_, delay, deferred_step{job_, std::move(fn)});
  }

  void log(const std::string& level, nlohmann::json data) override {
    if (job_->log_level.empty() || log_severity(level) < log_severity(job_->log_level) || job_->cancelled->load()
        || job_->answered.load())
      return;
    job_->sink->notify(make_notification(
      "notifications/message", nlohmann::json{{"level", level}, {"logger", job_->tool->name}, {"data", std::move(data)}}));
  }

  bool client_supports(const std::string& capability) const override {
    auto i = job_->client_capabilities.find(capability);
    return i != job_->client_capabilities.end() && !i->is_null();
  }

  const nlohmann::json& input_responses() const override { return job_->input_responses; }
  const nlohmann::json& request_state() const override { return job_->request_state; }

  void request_input(nlohmann::json requests, nlohmann::json state) override {
    if (job_->answered.load())
      return;
    if (!requests.is_object() || requests.empty())
      throw std::invalid_argument("request_input needs an object of {method, params} requests");
    nlohmann::json missing = nlohmann::json::object();
    for (auto& [key, req] : requests.items()) {
      auto method = req.is_object() ? req.value("method", "") : std::string{};
      auto cap = input_capability(method);
      if (cap.empty())
        throw std::invalid_argument("request_input: " + key + " asks for unknown method '" + method + "'");
      if (!client_supports(cap))
        missing[cap] = nlohmann::json::object();
    }
    if (!missing.empty()) {
      job_->answer(make_error(job_->id, rpc_error{mcp_code::missing_client_capability,
                                                  "tool " + job_->tool->name + " needs client capabilities "
                                                    + missing.dump() + " that this request did not declare",
                                                  nlohmann::json{{"requiredCapabilities", missing}}}));
      return;
    }
    if (!job_->on_input) {
      job_->answer(make_error(job_->id, rpc_error{rpc_code::internal_error,
                                                  "tool " + job_->tool->name + " asked for input where none can be given (it runs as a task)",
                                                  nullptr}));
      return;
    }
    // This round ends here: the job is done (its in-flight slot free), the
    // next round is a new call.
    if (!job_->hand_off() || job_->cancelled->load())
      return;
    job_->on_input(*job_, std::move(requests), std::move(state));
  }

private:
  caf::event_based_actor* self_;
  call_job_ptr job_;
};

/// Runs `fn` for `job`; an exception fails that call only.
void guarded(const call_job_ptr& job, const std::function<void()>& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    log::error("/root/protocol_sup/tool_sup", "tool " + job->tool->name + " failed: " + e.what());
    job->answer(make_error(job->id, rpc_error{rpc_code::internal_error,
                                              "tool " + job->tool->name + " failed: " + e.what(), nullptr}));
  }
}

caf::behavior tool_worker(caf::event_based_actor* self, const std::string& path) {
  return {
    [self, path](call_job_ptr& job) {
      if (job->faults && !job->chaos_checked) {
        job->chaos_checked = true;
        auto v = job->faults->on_tool_call(job->tool->name, std::chrono::steady_clock::now());
        if (v.drop) {
          log::correlation_scope scope{job->correlation_id, job->subject, job->tenant};
          log::info(path, "chaos experiment " + v.experiment + " failed a call of tool " + job->tool->name);
          job->answer(make_error(job->id, rpc_error{rpc_code::internal_error,
                                                    "tool " + job->tool->name + " failed: a fault injected by chaos experiment "
                                                      + v.experiment,
                                                    nullptr}));
          return;
        }
        if (v.delay.count() > 0) {
          self->delayed_send(self, v.delay, std::move(job)); // stalled, then run as usual
          return;
        }
      }
      auto call = std::make_shared<tool_call_impl>(self, job);
      log::correlation_scope scope{job->correlation_id, job->subject, job->tenant};
      if (log::enabled(log::level::debug))
        log::debug(path, "tools/call " + job->tool->name);
      // Messages the handler sends carry the tool call's context (trace::wrap).
      std::optional<trace::context_scope> traced;
      if (trace::enabled()) {
        job->span = trace::start_span("tool " + job->tool->name, trace::span_kind::internal, job->trace);
        job->span.set("gen_ai.tool.name", job->tool->name);
        traced.emplace(job->span.ctx());
      }
      guarded(job, [&] { job->tool->handler(job->arguments, call); });
    },
    [](deferred_step& step) {
      if (step.job->cancelled->load() || step.job->answered.load())
        return;
      std::optional<trace::context_scope> traced;
      if (step.job->span.active())
        traced.emplace(step.job->span.ctx());
      guarded(step.job, step.fn);
    },
  };
}

} // namespace

void register_actor_types(caf::actor_system_config& cfg) {
  cfg.add_actor_type("tool_worker", [](caf::event_based_actor* self) { return tool_worker(self, ""); });
}

std::string tool_worker_name(size_t k) {
  return "tool_worker_" + std::to_string(k);
}

supervision::child_spec tool_supervisor(supervision::supervisor_flags flags, size_t workers,
                                        std::shared_ptr<actors::name_table> names) {
  std::vector<supervision::child_spec> kids;
  for (size_t k = 0; k < workers; ++k) {
    auto spec = supervision::worker_child(tool_worker_name(k), tool_worker);
    spec.shutdown = supervision::shutdown_spec::after(std::chrono::milliseconds{2000});
    kids.push_back(actors::registered(std::move(spec), names));
  }
  flags.how = supervision::strategy::one_for_one;
  return supervision::supervisor_child("tool_sup", flags, std::move(kids));
}

tool_workers::tool_workers(std::shared_ptr<actors::name_table> names, size_t count)
  : names_(std::move(names)), count_(count) {
}

caf::actor tool_workers::next() {
  // Try each worker once: one may be restarting.
  for (size_t i = 0; i < count_; ++i)
    if (auto h = names_->lookup(tool_worker_name(next_++ % count_)))
      return h;
  return caf::actor{};
}

} // namespace cafmcp::protocol
