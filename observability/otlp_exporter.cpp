// The OTLP/HTTP JSON span exporter (tier 3).
#include "observability/otlp_exporter.hpp"

#include <utility> // Boost 1.74's Asio misses it under C++20

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <caf/all.hpp>

#include "base/log.hpp"

namespace cafmcp::observability {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using json = nlohmann::json;
using std::chrono::milliseconds;

using export_tick_atom = caf::atom_constant<caf::atom("otlp_tick")>; // the periodic export
using export_wake_atom = caf::atom_constant<caf::atom("otlp_wake")>; // a full batch waits

constexpr size_t max_batches_per_tick = 16; // then the next tick, so exit messages get a turn

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
  std::shared_ptr<metrics::metrics_registry> metrics;
  std::string path;
  bool failing = false; // the last export failed (logged once per change)
  metrics::counter_series* exported = nullptr;
  metrics::counter_series* dropped_full = nullptr;
  metrics::counter_series* dropped_failed = nullptr;
  metrics::counter_series* ok = nullptr;
  metrics::counter_series* failed = nullptr;
  metrics::gauge_series* waiting = nullptr;
};

using exporter_actor = caf::stateful_actor<exporter_state>;

/// Sends what is queued, at most `batches` batches.
void export_some(exporter_actor* self, size_t batches) {
  auto& st = self->state;
  for (size_t n = 0; n < batches; ++n) {
    auto spans = trace::take(st.cfg.batch_size);
    if (spans.empty())
      break;
    auto why = post(st.cfg, otlp_body(spans, st.cfg));
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
}

caf::behavior exporter_fun(exporter_actor* self, tracing_config cfg,
                           std::shared_ptr<metrics::metrics_registry> metrics, std::string path) {
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
  // Woken when a batch is full (a non-blocking send from whichever thread
  // ended the span), so a busy node does not wait out the interval.
  trace::on_batch_ready([me = caf::actor_cast<caf::actor>(self)] { caf::anon_send(me, export_wake_atom::value); });
  self->attach_functor([] { trace::on_batch_ready({}); });
  self->set_exit_handler([self](caf::exit_msg& msg) {
    export_some(self, 1); // what ended last, once; bounded by the timeout
    self->quit(msg.reason);
  });
  self->send(self, export_tick_atom::value);
  return {
    [self](export_tick_atom) {
      export_some(self, max_batches_per_tick);
      self->delayed_send(self, self->state.cfg.interval, export_tick_atom::value);
    },
    [self](export_wake_atom) { export_some(self, max_batches_per_tick); },
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

namespace {

/// Appends `v` as a JSON string: quotes, backslashes and control characters
/// escaped, invalid UTF-8 replaced by U+FFFD (a span's text may come from
/// a client; the collector must still get valid JSON).
void append_string(std::string& out, std::string_view v) {
  static const char* hex = "0123456789abcdef";
  out += '"';
  for (size_t i = 0; i < v.size();) {
    auto c = static_cast<unsigned char>(v[i]);
    if (c < 0x80) {
      if (c == '"' || c == '\\') {
        out += '\\';
        out += static_cast<char>(c);
      } else if (c < 0x20) {
        out += "\\u00";
        out += hex[c >> 4];
        out += hex[c & 0xf];
      } else {
        out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    size_t len = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
    bool ok = len > 0 && i + len <= v.size();
    for (size_t k = 1; ok && k < len; ++k)
      ok = (static_cast<unsigned char>(v[i + k]) & 0xc0) == 0x80;
    if (ok) {
      out.append(v.substr(i, len));
      i += len;
    } else {
      out += "\xef\xbf\xbd";
      ++i;
    }
  }
  out += '"';
}

void append_attr(std::string& out, std::string_view key, std::string_view value, bool integer) {
  out += "{\"key\":";
  append_string(out, key);
  out += integer ? ",\"value\":{\"intValue\":" : ",\"value\":{\"stringValue\":";
  append_string(out, value);
  out += "}}";
}

} // namespace

std::string otlp_body(const std::vector<trace::span_record>& spans, const tracing_config& cfg) {
  // Written directly, not through a JSON DOM: at thousands of spans a
  // second the encoding is the exporter's main cost.
  std::string out;
  out.reserve(256 + spans.size() * 512);
  out += "{\"resourceSpans\":[{\"resource\":{\"attributes\":[";
  append_attr(out, "service.name", cfg.service_name, false);
  if (!cfg.node_name.empty()) {
    out += ',';
    append_attr(out, "service.instance.id", cfg.node_name, false);
  }
  if (!cfg.version.empty()) {
    out += ',';
    append_attr(out, "service.version", cfg.version, false);
  }
  out += "]},\"scopeSpans\":[{\"scope\":{\"name\":\"cafmcp\",\"version\":";
  append_string(out, cfg.version);
  out += "},\"spans\":[";
  bool first = true;
  for (auto& s : spans) {
    if (!first)
      out += ',';
    first = false;
    out += "{\"traceId\":\"" + trace::hex_id(s.trace_hi, s.trace_lo) + "\",\"spanId\":\"" + trace::hex_id(s.span_id)
           + "\"";
    if (s.parent_span_id != 0)
      out += ",\"parentSpanId\":\"" + trace::hex_id(s.parent_span_id) + "\"";
    if (!s.tracestate.empty()) {
      out += ",\"traceState\":";
      append_string(out, s.tracestate);
    }
    out += ",\"name\":";
    append_string(out, s.name);
    out += ",\"kind\":" + std::to_string(static_cast<int>(s.kind));
    out += ",\"startTimeUnixNano\":\"" + std::to_string(s.start_unix_ns) + "\",\"endTimeUnixNano\":\""
           + std::to_string(s.end_unix_ns) + "\",\"attributes\":[";
    for (size_t i = 0; i < s.attributes.size(); ++i) {
      if (i > 0)
        out += ',';
      append_attr(out, s.attributes[i].key, s.attributes[i].text, s.attributes[i].integer);
    }
    out += ']';
    // STATUS_CODE_ERROR is 2; a span without an error keeps the default (unset).
    if (s.error) {
      out += ",\"status\":{\"code\":2,\"message\":";
      append_string(out, s.status_message);
      out += '}';
    }
    out += '}';
  }
  out += "]}]}]}";
  return out;
}

supervision::child_spec otlp_exporter_spec(tracing_config cfg, std::shared_ptr<metrics::metrics_registry> metrics) {
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
