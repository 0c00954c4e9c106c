// The OTLP/HTTP JSON encoding of spans and the exporter's config.

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "observability/otlp_exporter.hpp"
#include "base/config_schema.hpp"

using namespace cafmcp;
using nlohmann::json;

namespace {

json validated(const json& tracing) {
  json raw{{"observability", {{"tracing", tracing}}}};
  return config::validate(raw, {config::field{"observability", config::value_type::object, {}, "", {}, {}, {},
                                              {observability::tracing_config_field()}}});
}

std::string endpoint_error(const std::string& url) {
  try {
    observability::tracing_config_from(validated({{"endpoint", url}}));
  } catch (const config::config_error& e) {
    return e.what();
  }
  return {};
}

} // namespace

TEST_CASE("tracing is off by default and exports to the local collector's OTLP/HTTP port") {
  auto cfg = observability::tracing_config_from(validated(json::object()));
  CHECK_FALSE(cfg.enabled);
  CHECK(cfg.endpoint == "http://127.0.0.1:4318/v1/traces");
  CHECK(cfg.host == "127.0.0.1");
  CHECK(cfg.port == "4318");
  CHECK(cfg.path == "/v1/traces");
  CHECK(cfg.sample_ratio == doctest::Approx(0.1));
  auto other = observability::tracing_config_from(validated({{"endpoint", "http://otel-collector/custom/path"}}));
  CHECK(other.host == "otel-collector");
  CHECK(other.port == "4318");
  CHECK(other.path == "/custom/path");
}

TEST_CASE("an OTLP endpoint that is not http://HOST[:PORT][/PATH] is refused naming the key") {
  CHECK(endpoint_error("https://c:4318/v1/traces").find("\"observability.tracing.endpoint\": https is not supported") == 0);
  CHECK(endpoint_error("grpc://c:4317").find("must be an http:// URL") != std::string::npos);
  CHECK(endpoint_error("http://:4318/v1/traces").find("names no host") != std::string::npos);
  CHECK(endpoint_error("http://c:0/v1/traces").find("port must be 1") != std::string::npos);
  CHECK(endpoint_error("http://c:port/v1/traces").find("port must be 1") != std::string::npos);
  CHECK(endpoint_error("http://c:4318/v1/traces").empty());
}

TEST_CASE("spans are encoded as OTLP JSON: hex ids, kinds, times as strings, typed attributes, error status") {
  trace::span_record ok;
  ok.trace_hi = 0x0af7651916cd43ddULL;
  ok.trace_lo = 0x8448eb211c80319cULL;
  ok.span_id = 0xb7ad6b7169203331ULL;
  ok.name = "POST /mcp";
  ok.kind = trace::span_kind::server;
  ok.start_unix_ns = 1700000000000000000ULL;
  ok.end_unix_ns = 1700000000000500000ULL;
  ok.attributes = {{"http.request.method", "POST", false}, {"http.response.status_code", "200", true}};
  ok.tracestate = "vendor=x";
  trace::span_record bad = ok;
  bad.span_id = 0x00f067aa0ba902b7ULL;
  bad.parent_span_id = ok.span_id;
  bad.kind = trace::span_kind::client;
  bad.error = true;
  bad.status_message = "no quorum";
  observability::tracing_config cfg;
  cfg.node_name = "n1";
  cfg.version = "1.2.3";
  auto j = json::parse(observability::otlp_body({ok, bad}, cfg));
  auto& rs = j["resourceSpans"][0];
  auto& res = rs["resource"]["attributes"];
  CHECK(res[0] == json{{"key", "service.name"}, {"value", {{"stringValue", "cafmcp"}}}});
  CHECK(res[1]["value"]["stringValue"] == "n1");
  auto& spans = rs["scopeSpans"][0]["spans"];
  REQUIRE(spans.size() == 2);
  CHECK(spans[0]["traceId"] == "0af7651916cd43dd8448eb211c80319c");
  CHECK(spans[0]["spanId"] == "b7ad6b7169203331");
  CHECK(spans[0]["kind"] == 2);
  CHECK(spans[0]["startTimeUnixNano"] == "1700000000000000000");
  CHECK_FALSE(spans[0].contains("parentSpanId"));
  CHECK_FALSE(spans[0].contains("status"));
  CHECK(spans[0]["traceState"] == "vendor=x");
  CHECK(spans[0]["attributes"][1]["value"] == json{{"intValue", "200"}});
  CHECK(spans[1]["spanId"] == "00f067aa0ba902b7"); // leading zeros kept
  CHECK(spans[1]["parentSpanId"] == "b7ad6b7169203331");
  CHECK(spans[1]["kind"] == 3);
  CHECK(spans[1]["status"] == json{{"code", 2}, {"message", "no quorum"}});
}

TEST_CASE("span text from clients is escaped and invalid UTF-8 replaced so the export stays valid JSON") {
  trace::span_record s;
  s.trace_lo = 1;
  s.span_id = 2;
  s.name = "tool \"quoted\" \\ back\nslash";
  s.error = true;
  s.status_message = std::string{"bad \xff byte, ok \xc3\xa9, ctrl \x01"};
  auto j = json::parse(observability::otlp_body({s}, observability::tracing_config{}), nullptr, false);
  REQUIRE(j.is_object());
  auto& span = j["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
  CHECK(span["name"] == "tool \"quoted\" \\ back\nslash");
  CHECK(span["status"]["message"] == "bad \xef\xbf\xbd byte, ok \xc3\xa9, ctrl \x01");
  CHECK(span["traceId"] == "00000000000000000000000000000001");
}
