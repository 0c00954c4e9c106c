// The observability endpoint's config: its schema (keys, types, defaults) and the validated values.
#include "observability/web_endpoint.hpp"

#include <cctype>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "observability/otlp_exporter.hpp"

namespace cafmcp::observability {

using std::chrono::milliseconds;

std::vector<config::field> web_config_schema() {
  using config::value_type;
  return {
    {"observability", value_type::object, {}, "the observability tier's HTTP endpoint (/metrics, /health, /ready)", {}, {}, {}, {
      {"enabled", value_type::boolean, true, "serve it", {}, {}, {}, {}},
      {"request_metrics", value_type::boolean, true,
       "count MCP requests and their durations (off: the call path skips it entirely)", {}, {}, {}, {}},
      {"host", value_type::string, "127.0.0.1", "address to listen on", {}, {}, {}, {}},
      {"port", value_type::integer, 9464, "port (0: any free port, logged)", 0, 65535, {}, {}},
      {"request_timeout_ms", value_type::integer, 10000,
       "a request must arrive whole within this from its first byte, else the connection is closed", 100, {}, {}, {}},
      {"idle_timeout_ms", value_type::integer, 60000,
       "a kept-alive connection with no request for this long is closed", 100, {}, {}, {}},
      {"max_connections", value_type::integer, 64,
       "connections open at once; more are closed at once (a scraper retries)", 1, {}, {}, {}},
      {"max_connections_per_client", value_type::integer, 16,
       "connections open at once from one client address", 1, {}, {}, {}},
      {"token_file", value_type::string, "",
       "a file holding a bearer token that /metrics, /events and /dashboard require (Authorization: Bearer, or "
       "?token= in a browser); /health, /ready and /live stay open; \"\": no token", {}, {}, {}, {}},
      {"alert_window_ms", value_type::integer, 60000, "error rate and p95 latency are measured over this", 1000, {}, {}, {}},
      {"error_rate_alert", value_type::number, 0.05, "alert when more than this share of requests fails", 0, 1, {}, {}},
      {"p95_alert_ms", value_type::integer, 2000, "alert when the 95th percentile latency is above this", 1, {}, {}, {}},
      {"memory_alert_ratio", value_type::number, 0.8,
       "alert (and /health degraded) above this share of the memory limit: the cgroup's, else the machine's RAM", 0, 1,
       {}, {}},
      {"queue_depth_limit", value_type::integer, 1000, "/health is degraded when any mailbox holds more", 1, {}, {}, {}},
      tracing_config_field(),
    }},
  };
}

namespace {

/// The token in `path` (surrounding whitespace dropped); throws a config
/// error naming the key when it cannot be read or is empty.
std::string read_token_file(const std::string& path) {
  std::ifstream in{path};
  if (!in)
    throw config::config_error("observability.token_file", "cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  auto token = text.str();
  auto first = token.find_first_not_of(" \t\r\n");
  if (first == std::string::npos)
    throw config::config_error("observability.token_file", path + " is empty");
  token = token.substr(first, token.find_last_not_of(" \t\r\n") - first + 1);
  for (char c : token)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.' && c != '~')
      throw config::config_error("observability.token_file",
                                 path + " must hold one token of letters, digits and - _ . ~ (it goes into URLs)");
  return token;
}

} // namespace

web_config web_config_from(const nlohmann::json& v) {
  web_config out;
  auto& o = v.at("observability");
  out.enabled = o.at("enabled").get<bool>();
  out.request_metrics = o.at("request_metrics").get<bool>();
  out.host = o.at("host").get<std::string>();
  out.port = o.at("port").get<uint16_t>();
  out.server.request_timeout = milliseconds{o.at("request_timeout_ms").get<int64_t>()};
  out.server.idle_timeout = milliseconds{o.at("idle_timeout_ms").get<int64_t>()};
  out.server.max_connections = o.at("max_connections").get<size_t>();
  out.server.max_connections_per_client = o.at("max_connections_per_client").get<size_t>();
  if (auto file = o.at("token_file").get<std::string>(); !file.empty())
    out.server.token = read_token_file(file);
  out.alert_window = milliseconds{o.at("alert_window_ms").get<int64_t>()};
  out.error_rate_alert = o.at("error_rate_alert").get<double>();
  out.p95_alert_seconds = static_cast<double>(o.at("p95_alert_ms").get<int64_t>()) / 1000.0;
  out.memory_alert_ratio = o.at("memory_alert_ratio").get<double>();
  out.queue_depth_limit = o.at("queue_depth_limit").get<int64_t>();
  return out;
}

} // namespace cafmcp::observability
