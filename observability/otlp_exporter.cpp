#include "observability/otlp_exporter.hpp"

#include <utility> // Boost 1.74's Asio misses it under C++20

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <caf/all.hpp>

#include "supervision/log.hpp"

namespace cafmcp::observability {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using json = nlohmann::json;
using std::chrono::milliseconds;

using export_tick_atom = caf::atom_constant<caf::atom("otlp_tick")>;

constexpr size_t max_batches_per_tick = 16; // then the next tick, so exit messages get a turn

json string_attr(const std::string& key, const std::string& value) {
  return json{{"key", key}, {"value", {{"stringValue", value}}}};
}

/// POSTs `body`; "" on a 2xx answer, else what went wrong.
std::string post(const tracing_config& cfg, const std::string& body) {
  try {
    net::io_context ioc;
    tcp::resolver resolver{ioc};
    beast::tcp_stream stream{ioc};
    stream.expires_after(cfg.timeout);
    stream.connect(resolver.resolve(cfg.host, cfg.port));
    http::request<http::string_body> req{http::verb::post, cfg.path, 11};
    req.set(http::field::host, cfg.host + ":" + cfg.port);
    req.set(http::field::content_type, "application/json");
    req.set(http::field::user_agent, "cafmcp/" + cfg.version);
    req.keep_alive(false);
    req.body() = body;
    req.prepare_payload();
    stream.expires_after(cfg.timeout);
    http::write(stream, req);
    beast::flat_buffer buf;
    http::response<http::string_body> res;
    http::read(stream, buf, res);
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    if (res.result_int() / 100 == 2)
      return {};
    return "HTTP " + std::to_string(res.result_int()) + " " + std::string{res.reason()};
  } catch (const std::exception& e) {
    return e.what();
  }
}

struct exporter_state {
  tracing_config cfg;
  std::shared_ptr<supervision::metrics_registry> metrics;
  std::string path;
  bool failing = false; // the last export failed (logged once per change)
  supervision::counter_series* exported = nullptr;
  supervision::counter_series* dropped_full = nullptr;
  supervision::counter_series* dropped_failed = nullptr;
  supervision::counter_series* ok = nullptr;
  supervision::counter_series* failed = nullptr;
  supervision::gauge_series* waiting = nullptr;
};

using exporter_actor = caf::stateful_actor<exporter_state>;

/// Sends what is queued, at most `batches` batches; whether more waits.
bool export_some(exporter_actor* self, size_t batches) {
  auto& st = self->state;
  for (size_t n = 0; n < batches; ++n) {
    auto spans = trace::take(st.cfg.batch_size);
    if (spans.empty())
      break;
    auto why = post(st.cfg, otlp_json(spans, st.cfg).dump());
    if (why.empty()) {
      st.exported->inc(spans.size());
      st.ok->inc();
      if (st.failing)
        log::info(st.path, "exporting spans to " + st.cfg.endpoint + " works again");
      st.failing = false;
    } else {
      st.dropped_failed->inc(spans.size());
      st.failed->inc();
      if (!st.failing)
        log::warning(st.path, "exporting spans to " + st.cfg.endpoint + " failed (" + why
                                + "); their batches are dropped and counted in cafmcp_trace_spans_dropped_total");
      st.failing = true;
      break; // the collector is down or slow: try again next tick, not batch after batch
    }
  }
  auto f = trace::figures();
  st.dropped_full->store(f.dropped);
  st.waiting->set(static_cast<double>(f.waiting));
  return f.waiting >= st.cfg.batch_size;
}

caf::behavior exporter_fun(exporter_actor* self, tracing_config cfg,
                           std::shared_ptr<supervision::metrics_registry> metrics, std::string path) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.metrics = std::move(metrics);
  st.path = std::move(path);
  auto& m = *st.metrics;
  st.exported = &m.counter("cafmcp_trace_spans_exported_total", "Spans the collector accepted");
  const char* dropped_help = "Spans dropped: the queue was full, or their export failed";
  st.dropped_full = &m.counter("cafmcp_trace_spans_dropped_total", dropped_help, {{"reason", "queue_full"}});
  st.dropped_failed = &m.counter("cafmcp_trace_spans_dropped_total", dropped_help, {{"reason", "export_failed"}});
  const char* requests_help = "OTLP/HTTP export requests, by outcome";
  st.ok = &m.counter("cafmcp_trace_export_requests_total", requests_help, {{"outcome", "ok"}});
  st.failed = &m.counter("cafmcp_trace_export_requests_total", requests_help, {{"outcome", "error"}});
  st.waiting = &m.gauge("cafmcp_trace_queue_spans", "Finished spans waiting for the exporter");
  log::info(st.path, "exporting spans over OTLP/HTTP to " + st.cfg.endpoint + " (sample ratio "
                       + std::to_string(st.cfg.sample_ratio).substr(0, 4) + ", errors always)");
  self->set_exit_handler([self](caf::exit_msg& msg) {
    export_some(self, 1); // what ended last, once; bounded by the timeout
    self->quit(msg.reason);
  });
  self->send(self, export_tick_atom::value);
  return {
    [self](export_tick_atom) {
      bool more = export_some(self, max_batches_per_tick);
      if (more)
        self->send(self, export_tick_atom::value);
      else
        self->delayed_send(self, self->state.cfg.interval, export_tick_atom::value);
    },
  };
}

} // namespace

config::field tracing_config_field() {
  using config::value_type;
  return {"tracing", value_type::object, {}, "W3C trace context and span export over OTLP/HTTP (JSON)", {}, {}, {}, {
    {"enabled", value_type::boolean, false, "record spans and export them (off: requests skip tracing after one branch)", {}, {}, {}, {}},
    {"endpoint", value_type::string, "http://127.0.0.1:4318/v1/traces", "the collector's OTLP/HTTP traces URL (http only)", {}, {}, {}, {}},
    {"sample_ratio", value_type::number, 0.1,
     "share of new traces recorded; requests with a traceparent follow its sampled flag; failed spans are always kept", 0, 1, {}, {}},
    {"batch_size", value_type::integer, 512, "spans per export request", 1, 100000, {}, {}},
    {"queue_limit", value_type::integer, 4096, "finished spans held for the exporter; more are dropped and counted", 1, 10000000, {}, {}},
    {"export_interval_ms", value_type::integer, 1000, "how often the queue is exported", 10, 600000, {}, {}},
    {"timeout_ms", value_type::integer, 2000, "longest one export request may take", 100, 600000, {}, {}},
    {"service_name", value_type::string, "cafmcp", "the service.name resource attribute", {}, {}, {}, {}},
  }};
}

tracing_config tracing_config_from(const json& v) {
  auto& t = v.at("observability").at("tracing");
  tracing_config out;
  out.enabled = t.at("enabled").get<bool>();
  out.endpoint = t.at("endpoint").get<std::string>();
  out.sample_ratio = t.at("sample_ratio").get<double>();
  out.batch_size = t.at("batch_size").get<size_t>();
  out.queue_limit = t.at("queue_limit").get<size_t>();
  out.interval = milliseconds{t.at("export_interval_ms").get<int64_t>()};
  out.timeout = milliseconds{t.at("timeout_ms").get<int64_t>()};
  out.service_name = t.at("service_name").get<std::string>();
  // http://HOST[:PORT][/PATH]
  const std::string scheme = "http://";
  auto bad = [&](const std::string& why) {
    return config::config_error("observability.tracing.endpoint", why + ", got \"" + out.endpoint + "\"");
  };
  if (out.endpoint.rfind("https://", 0) == 0)
    throw bad("https is not supported: export to a collector on this host or network over http");
  if (out.endpoint.rfind(scheme, 0) != 0)
    throw bad("must be an http:// URL");
  auto rest = out.endpoint.substr(scheme.size());
  auto slash = rest.find('/');
  auto authority = rest.substr(0, slash);
  out.path = slash == std::string::npos ? "/v1/traces" : rest.substr(slash);
  out.port = "4318";
  auto colon = authority.rfind(':');
  if (colon != std::string::npos && authority.find(']') == std::string::npos) {
    out.port = authority.substr(colon + 1);
    authority.resize(colon);
    bool digits = !out.port.empty() && out.port.size() <= 5
                  && out.port.find_first_not_of("0123456789") == std::string::npos;
    if (!digits || std::stoi(out.port) < 1 || std::stoi(out.port) > 65535)
      throw bad("the port must be 1 … 65535");
  }
  if (authority.empty())
    throw bad("the URL names no host");
  out.host = authority;
  return out;
}

json otlp_json(const std::vector<trace::span_record>& spans, const tracing_config& cfg) {
  json list = json::array();
  for (auto& s : spans) {
    json attrs = json::array();
    for (auto& a : s.attributes)
      attrs.push_back(a.integer ? json{{"key", a.key}, {"value", {{"intValue", a.text}}}} : string_attr(a.key, a.text));
    json span{{"traceId", s.trace_id},
              {"spanId", s.span_id},
              {"name", s.name},
              {"kind", static_cast<int>(s.kind)},
              {"startTimeUnixNano", std::to_string(s.start_unix_ns)},
              {"endTimeUnixNano", std::to_string(s.end_unix_ns)},
              {"attributes", std::move(attrs)}};
    if (!s.parent_span_id.empty())
      span["parentSpanId"] = s.parent_span_id;
    if (!s.tracestate.empty())
      span["traceState"] = s.tracestate;
    // STATUS_CODE_ERROR is 2; a span without an error keeps the default (unset).
    if (s.error)
      span["status"] = {{"code", 2}, {"message", s.status_message}};
    list.push_back(std::move(span));
  }
  json resource = json::array({string_attr("service.name", cfg.service_name)});
  if (!cfg.node_name.empty())
    resource.push_back(string_attr("service.instance.id", cfg.node_name));
  if (!cfg.version.empty())
    resource.push_back(string_attr("service.version", cfg.version));
  return json{{"resourceSpans",
               json::array({{{"resource", {{"attributes", std::move(resource)}}},
                             {"scopeSpans", json::array({{{"scope", {{"name", "cafmcp"}, {"version", cfg.version}}},
                                                          {"spans", std::move(list)}}})}}})}};
}

supervision::child_spec otlp_exporter_spec(tracing_config cfg, std::shared_ptr<supervision::metrics_registry> metrics) {
  supervision::child_spec spec;
  spec.id = "otlp_exporter";
  spec.start = [cfg, metrics](const supervision::start_context& ctx) -> caf::expected<caf::actor> {
    return ctx.system.spawn<caf::detached>(exporter_fun, cfg, metrics, ctx.path);
  };
  // One last export on the way out, bounded by its request timeout.
  spec.shutdown = supervision::shutdown_spec::after(cfg.timeout + milliseconds{1000});
  return spec;
}

} // namespace cafmcp::observability
