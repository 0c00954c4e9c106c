#include "protocol/tool_runner.hpp"

#include <caf/all.hpp>

#include "protocol/endpoint.hpp"
#include "supervision/log.hpp"

namespace cafmcp::protocol {

namespace {

/// A deferred step of a tool handler (tool_call::after).
struct deferred_step {
  std::function<void()> fn;
};

} // namespace

} // namespace cafmcp::protocol

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cafmcp::protocol::deferred_step)

namespace cafmcp::protocol {

bool call_job::answer(const nlohmann::json& response) {
  if (answered.exchange(true))
    return false;
  if (!cancelled->load())
    sink->respond(response);
  if (on_finish)
    on_finish();
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
  caf::actor session_manager() const override {
    return job_->session_manager ? job_->session_manager() : caf::actor{};
  }

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
    self_->quit();
  }

  void after(std::chrono::milliseconds delay, std::function<void()> fn) override {
    self_->delayed_send(self_, delay, deferred_step{std::move(fn)});
  }

private:
  caf::event_based_actor* self_;
  call_job_ptr job_;
};

caf::behavior tool_call_actor(caf::event_based_actor* self, call_job_ptr job) {
  auto call = std::make_shared<tool_call_impl>(self, job);
  // A cancelled call stops: the endpoint sets the flag, the next step sees it.
  try {
    job->tool->handler(job->arguments, call);
  } catch (const std::exception& e) {
    log::error("/root/protocol_sup/tool_sup", "tool " + job->tool->name + " failed: " + e.what());
    job->answer(make_error(job->id, rpc_error{rpc_code::internal_error,
                                              "tool " + job->tool->name + " failed: " + e.what(), nullptr}));
    self->quit(caf::make_error(caf::sec::runtime_error, std::string{e.what()}));
    return {};
  }
  return {
    [call, job, self](deferred_step& step) {
      if (job->cancelled->load()) {
        self->quit();
        return;
      }
      try {
        step.fn();
      } catch (const std::exception& e) {
        job->answer(make_error(job->id, rpc_error{rpc_code::internal_error,
                                                  "tool " + job->tool->name + " failed: " + e.what(),
                                                  nullptr}));
        self->quit(caf::make_error(caf::sec::runtime_error, std::string{e.what()}));
      }
    },
  };
}

} // namespace

supervision::child_spec tool_call_template() {
  supervision::child_spec spec;
  spec.id = "tool_call";
  spec.restart = supervision::restart_type::temporary;
  spec.shutdown = supervision::shutdown_spec::after(std::chrono::milliseconds{2000});
  spec.start = [](const supervision::start_context& ctx) -> caf::expected<caf::actor> {
    if (!ctx.args.match_elements<call_job_ptr>())
      return caf::make_error(caf::sec::invalid_argument, "tool_call needs a call_job");
    return ctx.system.spawn(tool_call_actor, ctx.args.get_as<call_job_ptr>(0));
  };
  return spec;
}

} // namespace cafmcp::protocol
