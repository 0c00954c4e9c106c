// The sinks a request's answer passes through: batch collection, metrics, its span, and a task's state.
#include <map>
#include <mutex>
#include <set>
#include <tuple>

#include "protocol/detail/endpoint_state.hpp"
#include "protocol/tool_runner.hpp"

namespace cafmcp::protocol::detail {

namespace {

/// Collects the responses of a batch and sends them as one array.
class batch_sink : public request_sink {
public:
  batch_sink(sink_ptr out, size_t expected) : out_(std::move(out)), expected_(expected) {}

  void notify(const json& n) override { out_->notify(n); }
  std::string correlation_id() const override { return out_->correlation_id(); }
  trace::context trace_context() const override { return out_->trace_context(); }
  std::string subject() const override { return out_->subject(); }
  std::string tenant() const override { return out_->tenant(); }
  std::optional<std::string> header(const std::string& h) const override { return out_->header(h); }
  std::optional<std::shared_ptr<const route_table>> routes() const override { return out_->routes(); }
  bool limited() const override { return out_->limited(); }
  std::string client_address() const override { return out_->client_address(); }

  void respond(const json& r) override {
    std::unique_lock<std::mutex> guard{mtx_};
    responses_.push_back(r);
    if (responses_.size() == expected_) {
      auto all = std::move(responses_);
      guard.unlock();
      out_->respond(all);
    }
  }

private:
  sink_ptr out_;
  size_t expected_;
  std::mutex mtx_;
  json responses_ = json::array();
};


/// The method as a metric label: MCP's own, or "other" (a client must not
/// be able to create series at will).
const std::string& method_label(const std::string& m) {
  static const std::set<std::string> known{
    "initialize", "ping", "server/discover", "tools/list", "tools/call", "resources/list", "resources/read",
    "resources/templates/list", "resources/subscribe", "resources/unsubscribe", "prompts/list", "prompts/get",
    "completion/complete", "logging/setLevel", "subscriptions/listen", "tasks/get", "tasks/update", "tasks/cancel"};
  static const std::string other = "other";
  auto i = known.find(m);
  return i == known.end() ? other : *i;
}

/// Counts a request and its duration when it is answered.
class metered_sink : public request_sink {
public:
  metered_sink(sink_ptr inner, std::shared_ptr<metrics::metrics_registry> m, const std::string& method)
    : inner_(std::move(inner)), metrics_(std::move(m)), method_(method_label(method)),
      started_(std::chrono::steady_clock::now()) {}

  void notify(const json& n) override { inner_->notify(n); }
  std::string correlation_id() const override { return inner_->correlation_id(); }
  trace::context trace_context() const override { return inner_->trace_context(); }
  std::string subject() const override { return inner_->subject(); }
  std::string client_address() const override { return inner_->client_address(); }
  std::string tenant() const override { return inner_->tenant(); }
  std::optional<std::string> header(const std::string& h) const override { return inner_->header(h); }
  std::optional<std::shared_ptr<const route_table>> routes() const override { return inner_->routes(); }
  bool limited() const override { return inner_->limited(); }

  void respond(const json& r) override {
    const char* outcome = outcome_of(r);
    auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    // Per thread, each series is looked up once: then recording is two atomic adds.
    struct series {
      metrics::counter_series* count;
      metrics::histogram_series* duration;
    };
    thread_local std::map<std::tuple<uint64_t, std::string, std::string>, series> cache;
    auto key = std::make_tuple(metrics_->id(), method_, std::string{outcome});
    auto i = cache.find(key);
    if (i == cache.end()) {
      series s{&metrics_->counter("cafmcp_requests_total", "MCP requests answered, by method and outcome",
                                  {{"method", method_}, {"outcome", outcome}}),
               &metrics_->histogram("cafmcp_request_duration_seconds", "Time from a request to its answer",
                                    {{"method", method_}}, metrics::metrics_registry::latency_buckets())};
      i = cache.emplace(key, s).first;
    }
    i->second.count->inc();
    i->second.duration->observe(took);
    inner_->respond(r);
  }

private:
  sink_ptr inner_;
  std::shared_ptr<metrics::metrics_registry> metrics_;
  std::string method_;
  std::chrono::steady_clock::time_point started_;
};

/// The request's span (the MCP request as its session, or the stateless
/// endpoint, serves it): from dispatch to its answer, failed when the
/// answer is a JSON-RPC error or a tool error.
class traced_sink : public request_sink {
public:
  traced_sink(sink_ptr inner, trace::span s) : inner_(std::move(inner)), span_(std::move(s)) {}

  void notify(const json& n) override { inner_->notify(n); }
  std::string correlation_id() const override { return inner_->correlation_id(); }
  trace::context trace_context() const override { return span_.ctx(); }
  std::string subject() const override { return inner_->subject(); }
  std::string client_address() const override { return inner_->client_address(); }
  std::string tenant() const override { return inner_->tenant(); }
  std::optional<std::string> header(const std::string& h) const override { return inner_->header(h); }
  std::optional<std::shared_ptr<const route_table>> routes() const override { return inner_->routes(); }
  bool limited() const override { return inner_->limited(); }

  void respond(const json& r) override {
    record_outcome(span_, r);
    span_.end();
    inner_->respond(r);
  }

private:
  sink_ptr inner_;
  trace::span span_;
};


/// Where a task's call reports: progress messages become its status
/// message, the response completes or fails it.
class task_sink : public request_sink {
public:
  task_sink(std::weak_ptr<task_registry> tasks, std::string id) : tasks_(std::move(tasks)), id_(std::move(id)) {}

  void notify(const json& n) override {
    auto tasks = tasks_.lock();
    if (!tasks || n.value("method", "") != "notifications/progress")
      return; // tasks get no progress or log notifications
    auto& p = n["params"];
    auto text = p.value("message", "");
    if (text.empty())
      text = "progress " + p["progress"].dump() + (p.contains("total") ? " of " + p["total"].dump() : "");
    tasks->set_message(id_, text);
  }

  void respond(const json& r) override {
    auto tasks = tasks_.lock();
    if (!tasks)
      return;
    if (r.contains("error"))
      tasks->fail(id_, r["error"]);
    else
      tasks->complete(id_, r["result"]);
  }

private:
  std::weak_ptr<task_registry> tasks_;
  std::string id_;
};


} // namespace

sink_ptr make_batch_sink(sink_ptr out, size_t expected) {
  return std::make_shared<batch_sink>(std::move(out), expected);
}

sink_ptr make_metered_sink(sink_ptr inner, std::shared_ptr<metrics::metrics_registry> m, const std::string& method) {
  return std::make_shared<metered_sink>(std::move(inner), std::move(m), method);
}

sink_ptr make_traced_sink(sink_ptr inner, trace::span s) {
  return std::make_shared<traced_sink>(std::move(inner), std::move(s));
}

sink_ptr make_task_sink(std::weak_ptr<task_registry> tasks, std::string id) {
  return std::make_shared<task_sink>(std::move(tasks), std::move(id));
}

} // namespace cafmcp::protocol::detail
