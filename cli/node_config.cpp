// The node's configuration: the JSON file, flags and defaults, validated at start.
#include "cli/node_config.hpp"

#include <fstream>
#include <sstream>

#include <unistd.h>

#include "cluster/host_port.hpp"
#include "protocol/detail/http_headers.hpp"
#include "protocol/jwks_fetcher.hpp"

namespace cafmcp::cli {

using config::config_error;
using config::field;
using config::value_type;

std::vector<field> node_config_schema() {
  std::vector<field> out{
    {"name", value_type::string, "", "node name (default: the host name)", {}, {}, {}, {}},
    {"data_dir", value_type::string, "",
     "where a cluster node keeps its replicas (snapshot and WAL; default: cafmcp-data/NAME in the working directory)",
     {}, {}, {}, {}},
    {"log", value_type::object, {}, "logging", {}, {}, {}, {
      {"level", value_type::string, "info", "minimum level", {}, {}, {"debug", "info", "warning", "error"}, {}},
      {"format", value_type::string, "text", "line format", {}, {}, {"text", "json"}, {}},
      {"file", value_type::string, "", "append log lines to this file (\"\": stderr)", {}, {}, {}, {}},
    }},
    {"scheduler", value_type::object, {}, "CAF scheduler", {}, {}, {}, {
      {"policy", value_type::string, "sharing", "sharing wakes idle workers at once; stealing polls",
       {}, {}, {"sharing", "stealing"}, {}},
      {"max_threads", value_type::integer, 2, "scheduler worker threads", 1, 256, {}, {}},
    }},
    {"supervision", value_type::object, {}, "restart limits of the tier supervisors", {}, {}, {}, {
      {"intensity", value_type::integer, 5, "restarts allowed within period_ms (erlmcp: 5 in 60 s)", 0, {}, {}, {}},
      {"period_ms", value_type::integer, 60000, "the restart intensity window", 1, {}, {}, {}},
      {"shutdown_grace_ms", value_type::integer, 30000,
       "longest an orderly stop may take before the process exits anyway", 100, {}, {}, {}},
      {"restart_backoff", value_type::object, {},
       "restart delays of children that talk to the outside (observability tier, its web endpoint and span "
       "exporter, the JWKS fetcher); such restarts do not count towards intensity", {}, {}, {}, {
        {"initial_ms", value_type::integer, 1000, "the first restart's delay", 1, 3600000, {}, {}},
        {"max_ms", value_type::integer, 30000, "the longest delay", 1, 3600000, {}, {}},
        {"multiplier", value_type::number, 2, "each consecutive restart's delay is the last one times this", 1, 10, {}, {}},
        {"jitter", value_type::number, 0.2,
         "each delay is spread by up to this share either way (children that died together restart apart)", 0, 1,
         {}, {}},
        {"reset_after_ms", value_type::integer, 0,
         "a child up this long starts its backoff over (0: max_ms)", 0, 86400000, {}, {}},
      }},
    }},
    {"mcp", value_type::object, {}, "the MCP protocol layer", {}, {}, {}, {
      {"max_message_bytes", value_type::integer, 4194304,
       "largest JSON-RPC message accepted; larger ones are refused without being buffered", 1024, {}, {}, {}},
      {"page_size", value_type::integer, 50, "items per page of tools/list, resources/list …", 1, 10000, {}, {}},
      {"tool_workers", value_type::integer, 4, "tool worker actors under tool_sup that run tools/call", 1, 256, {}, {}},
      {"max_inflight_calls", value_type::integer, 10000,
       "tool calls in flight on the node; more are refused with -32000 (HTTP 503)", 1, {}, {}, {}},
      {"list_ttl_ms", value_type::integer, 60000, "ttlMs of cacheable results (MCP 2026-07-28)", 0, {}, {}, {}},
      {"instructions", value_type::string,
       "cafmcp node: call echo, add or sleep; session_open returns a handle for session_set/session_get.",
       "instructions returned by initialize and server/discover", {}, {}, {}, {}},
      {"conformance_tools", value_type::boolean, false,
       "also serve the MCP conformance suite's tools (test_simple_text, test_elicitation …)", {}, {}, {}, {}},
      {"auth", value_type::object, {}, "bearer authorisation of the MCP endpoint (docs/SECURITY.md)", {}, {}, {}, {
        {"enabled", value_type::boolean, false,
         "every HTTP request needs Authorization: Bearer <token> (401 otherwise); stdio is not affected", {}, {}, {},
         {}},
        {"resource", value_type::string, "",
         "the canonical URI clients use for this server, e.g. https://mcp.example.com/mcp (RFC 8707; \"\": "
         "http://<Host header><http.path>)", {}, {}, {}, {}},
        {"authorization_servers", value_type::string_list, nlohmann::json::array(),
         "issuers clients get tokens from, named in the protected resource metadata", {}, {}, {}, {}},
        {"scopes_supported", value_type::string_list, nlohmann::json::array(),
         "scopes named in the metadata and in 401 challenges", {}, {}, {}, {}},
        {"tool_scopes", value_type::string_list, nlohmann::json::array(),
         "\"TOOL=SCOPE\": a call of TOOL needs a token carrying SCOPE, else 403 insufficient_scope (over the "
         "tool's own required scope)", {}, {}, {}, {}},
        {"static_tokens", value_type::string_list, nlohmann::json::array(),
         "API tokens by hash: \"sha256:<hex> subject=<name> [scopes=<a,b>] [tenant=<t>]\" (cafmcp token create "
         "makes one)", {}, {}, {}, {}},
        {"jwt", value_type::object, {}, "JWT access tokens from an identity provider (RS256, ES256)", {}, {}, {}, {
          {"jwks_file", value_type::string, "",
           "the provider's signing keys as a JWKS document, read at start (\"\": no JWT tokens)", {}, {}, {}, {}},
          {"jwks_url", value_type::string, "",
           "the provider's jwks_uri: fetched at start, every jwks_refresh_s and early when a token names a key it "
           "lacks (https://, or http:// to a loopback host; \"\": none; not with jwks_file)", {}, {}, {}, {}},
          {"jwks_refresh_s", value_type::integer, 600, "seconds between fetches of jwks_url", 10, 86400, {}, {}},
          {"jwks_min_refresh_s", value_type::integer, 30,
           "least seconds between two early fetches (a token with an unknown kid), and the first retry after a "
           "failed fetch (then doubling up to jwks_refresh_s)", 1, 3600, {}, {}},
          {"jwks_ca_file", value_type::string, "",
           "PEM file of the CAs trusted for jwks_url (\"\": the system's)", {}, {}, {}, {}},
          {"issuer", value_type::string, "", "the iss every token must carry (needed with jwks_file or jwks_url)", {}, {}, {}, {}},
          {"audience", value_type::string, "",
           "the aud every token must name (\"\": the resource URI, mcp.auth.resource or http://<Host><path>)", {}, {},
           {}, {}},
          {"leeway_s", value_type::integer, 60, "clock skew allowed on exp and nbf, in seconds", 0, 3600, {}, {}},
          {"tenant_claim", value_type::string, "",
           "a claim naming the caller's tenant, needed in every token (\"\": none)", {}, {}, {}, {}},
        }},
      }},
      {"tasks", value_type::object, {}, "the Tasks extension (MCP 2026-07-28)", {}, {}, {}, {
        {"ttl_ms", value_type::integer, 3600000, "how long a task and its result are kept after it is created", 1000, {}, {}, {}},
        {"poll_interval_ms", value_type::integer, 1000, "pollIntervalMs suggested to clients", 10, {}, {}, {}},
        {"max_tasks", value_type::integer, 10000, "live tasks on the node; more are refused with -32000", 1, {}, {}, {}},
      }},
    }},
    {"http", value_type::object, {}, "MCP over Streamable HTTP", {}, {}, {}, {
      {"enabled", value_type::boolean, true, "serve MCP over HTTP", {}, {}, {}, {}},
      {"host", value_type::string, "127.0.0.1", "address to listen on (loopback unless you mean it)", {}, {}, {}, {}},
      {"port", value_type::integer, 8080, "TCP port of the MCP endpoint (0: any free port, logged)", 0, 65535, {}, {}},
      {"path", value_type::string, "/mcp", "the MCP endpoint's path", {}, {}, {}, {}},
      {"allowed_origins", value_type::string_list, nlohmann::json::array(),
       "Origin values allowed besides localhost, 127.0.0.1 and [::1] (other origins get 403)", {}, {}, {}, {}},
      {"threads", value_type::integer, 1, "I/O threads (1 is fastest on 2 cores)", 1, 64, {}, {}},
      {"max_sessions", value_type::integer, 10000, "open legacy sessions; initialize past it gets 503", 1, {}, {}, {}},
      {"keepalive_ms", value_type::integer, 15000,
       "an SSE comment is sent on an idle open stream this often (finds clients that vanished)", 100, {}, {}, {}},
      {"header_timeout_ms", value_type::integer, 10000,
       "a request's headers must arrive within this from its first byte, else the connection is closed "
       "(slowloris)", 100, {}, {}, {}},
      {"body_timeout_ms", value_type::integer, 30000,
       "a request's body must arrive within this once its headers are in, else the connection is closed", 100, {},
       {}, {}},
      {"idle_timeout_ms", value_type::integer, 120000,
       "a kept-alive connection with no request for this long is closed", 100, {}, {}, {}},
      {"max_connections", value_type::integer, 1024,
       "connections open at once; past it a new one gets 503 with Retry-After and is closed", 1, {}, {}, {}},
      {"max_connections_per_client", value_type::integer, 256,
       "connections open at once from one client address (one client cannot take every slot)", 1, {}, {}, {}},
      {"max_stream_queue_bytes", value_type::integer, 4194304,
       "bytes of an SSE stream waiting for a slow reader; past it the stream is closed", 4096, {}, {}, {}},
      {"socket_send_buffer_bytes", value_type::integer, 0,
       "SO_SNDBUF of each connection: what the kernel holds for a slow reader besides max_stream_queue_bytes "
       "(0: the kernel's, autotuned up to net.ipv4.tcp_wmem's maximum)", 0, 67108864, {}, {}},
      {"allowed_hosts", value_type::string_list, nlohmann::json::array(),
       "Host header names answered besides localhost, 127.0.0.1 and [::1] while bound to a loopback address "
       "(others get 403: DNS rebinding)", {}, {}, {}, {}},
      {"tenant_header", value_type::string, "",
       "a request header naming the caller's tenant when its token names none (\"\": tenants come from tokens "
       "only). Trust it only behind a proxy that sets it and drops the client's (docs/ROUTING.md)", {}, {}, {}, {}},
    }},
    {"cluster", value_type::object, {}, "joining other nodes (docs/CLUSTER.md)", {}, {}, {}, {
      {"enabled", value_type::boolean, false,
       "publish the node actor and join a cluster (implied by --cluster-port and --seeds)", {}, {}, {}, {}},
      {"host", value_type::string, "127.0.0.1", "address to listen on for other nodes, and to give them", {}, {}, {}, {}},
      {"port", value_type::integer, 4370, "the cluster port (CAF's BASP over TCP)", 1, 65535, {}, {}},
      {"seeds", value_type::string_list, nlohmann::json::array(),
       "HOST:PORT of nodes to join through (none: this node founds a cluster)", {}, {}, {}, {}},
      {"cookie_file", value_type::string, "",
       "file with the shared cluster cookie (default $HOME/.cafmcp.cookie, created 0400 if missing)", {}, {}, {}, {}},
      {"heartbeat_ms", value_type::integer, 1000, "heartbeat interval (the same on every node)", 10, 60000, {}, {}},
      {"unhealthy_after", value_type::integer, 3,
       "missed heartbeats until a member is unhealthy (1 or 2 missed: degraded)", 1, 100, {}, {}},
      {"remove_after_ms", value_type::integer, 10000, "a down member is removed from the table after this", 0, {}, {}, {}},
      {"insecure", value_type::boolean, false,
       "plain BASP without TLS, the cookie as the only credential: loopback cluster.host only (docs/SECURITY.md)",
       {}, {}, {}, {}},
      {"routes_poll_ms", value_type::integer, 1000,
       "how often a member looks for a newer version of the cluster's routing rules, upstreams and tenants (cafmcp "
       "routes|upstreams|tenants add|remove)",
       50, 60000, {}, {}},
      {"member_call_timeout_ms", value_type::integer, 60000,
       "how long a tools/call a routing rule sends to another member (a target's \"members\") may take there "
       "before it fails (-32603) and is cancelled there",
       100, 3600000, {}, {}},
      {"run_time_programs", value_type::string_list, nlohmann::json::array(),
       "programs a stdio upstream added at run time (cafmcp upstreams add) may run, as its command's first word "
       "(e.g. \"npx\"); []: only servers by URL. A member runs none its own list lacks", {}, {}, {}, {}},
      {"callable_actors", value_type::string_list, nlohmann::json::array(),
       "application actors (by registered name) that members and admin clients may call with distribute_call; "
       "the runtime's own actors follow a fixed policy (docs/SECURITY.md)", {}, {}, {}, {}},
      {"certs_dir", value_type::string, "",
       "certificates (cafmcp cert): node.NAME.crt/.key and ca.crt (default $HOME/.cafmcp/certs)", {}, {}, {}, {}},
      {"tls", value_type::object, {}, "mutual TLS between nodes, on unless cluster.insecure (docs/SECURITY.md)", {}, {}, {}, {
        {"certificate", value_type::string, "", "this node's certificate, PEM (default certs_dir/node.NAME.crt)", {}, {}, {}, {}},
        {"key", value_type::string, "", "its private key, PEM (default certs_dir/node.NAME.key)", {}, {}, {}, {}},
        {"cafile", value_type::string, "", "the CA certificate(s) peers must chain to (default certs_dir/ca.crt)", {}, {}, {}, {}},
      }},
      {"split_brain", value_type::object, {}, "which side of a partition stays up", {}, {}, {}, {
        {"strategy", value_type::string, "keep_majority", "the resolver", {}, {},
         {"keep_majority", "keep_oldest", "static_quorum", "configured_master"}, {}},
        {"stable_after_ms", value_type::integer, 2000,
         "the reachability view must be unchanged this long before a decision", 0, {}, {}, {}},
        {"down_if_alone", value_type::boolean, false, "keep_oldest: an oldest node alone goes down instead", {}, {}, {}, {}},
        {"quorum_size", value_type::integer, 2, "static_quorum: members a side needs to stay up", 1, {}, {}, {}},
        {"master", value_type::string, "", "configured_master: the node whose side stays up", {}, {}, {}, {}},
      }},
      {"replication", value_type::object, {}, "MCP state on several members (docs/CLUSTER.md#replication)", {}, {}, {}, {
        {"factor", value_type::integer, 2, "replicas of each session, handle and task (primary included)", 1, 16, {}, {}},
        {"consistency", value_type::string, "majority",
         "replicas that hold a write before it is acknowledged (of min(factor, up members))", {}, {},
         {"local", "one", "majority", "all"}, {}},
        {"write_timeout_ms", value_type::integer, 2000,
         "a write without enough acknowledgements by then fails with a clear error", 10, {}, {}, {}},
        {"durability", value_type::string, "fsync",
         "fsync: a replica holds a write once its WAL record is on disk (fdatasync), so an acknowledged write "
         "survives every node crashing at once; memory: once it is in memory (survives a minority failing)",
         {}, {}, {"fsync", "memory"}, {}},
        {"group_commit_ms", value_type::integer, 0,
         "fsync: a WAL append waits this long for more writes to share its fdatasync (appends arriving while "
         "one is on the disk are grouped anyway)",
         0, 100, {}, {}},
        {"snapshot_interval_ms", value_type::integer, 60000,
         "the replicas are written to a snapshot in data_dir this often (and on shutdown); a WAL in between",
         100, {}, {}, {}},
        {"max_clock_drift_ms", value_type::integer, 5000,
         "a replicated write stamped further ahead of this node's clock is refused (and counted)", 1, {}, {}, {}},
        {"tombstone_ttl_ms", value_type::integer, 86400000,
         "a deleted record's marker is kept this long; a copy of a record a node lacks that was not written "
         "for this long is refused (it may have been deleted meanwhile). Keep it above every record TTL",
         1, {}, {}, {}},
        {"clock_offset_ms", value_type::integer, 0,
         "skews this node's hybrid logical clock (fault tests of clock skew; leave 0)", {}, {}, {}, {}},
        {"sweep", value_type::boolean, true,
         "primaries expire records past their TTL, forget old deletions and take over orphaned tasks; false "
         "leaves every record as it is (the scratch node of cafmcp backup test-restore)",
         {}, {}, {}, {}},
      }},
    }},
    {"admin", value_type::object, {}, "the remote supervision API (cafmcp shell; cluster nodes only)", {}, {}, {}, {
      {"audit_log", value_type::string, "",
       "file the shell's changes are appended to, one JSON line each (default: NAME.audit.jsonl in the working directory)",
       {}, {}, {}, {}},
      {"audit_key_file", value_type::string, "",
       "the secret keying the audit log's HMAC chain: 64 hex digits, mode 0600, created if missing "
       "(default: the audit log's path + .key)",
       {}, {}, {}, {}},
    }},
    {"health", value_type::object, {}, "health checker (tier 3)", {}, {}, {}, {
      {"interval_ms", value_type::integer, 1000, "how often health is checked", 10, {}, {}, {}},
    }},
  };
  for (auto& f : actors::core_config_schema())
    out.push_back(f);
  for (auto& f : observability::web_config_schema())
    out.push_back(f);
  out.push_back(observability::chaos_config_field());
  out.push_back(observability::backup_config_field());
  out.push_back({"upstreams", value_type::object_map, nlohmann::json::object(),
                 "upstream MCP servers this node runs and serves, by name (their tools appear as NAME.tool; "
                 "docs/ROUTING.md)", {}, {}, {}, protocol::upstream_config_schema()});
  out.push_back({"tenants", value_type::object_map, nlohmann::json::object(),
                 "tenants by name (from the token's tenant): each sees the tools its globs allow and has its own "
                 "rate limit (docs/ROUTING.md)", {}, {}, {}, protocol::tenant_config_schema()});
  out.push_back({"routes", value_type::any, nlohmann::json::object(),
                 "routing rules for tools/call by id: {\"ID\": {\"priority\", \"tenant\", \"name\", \"name_regex\", "
                 "\"headers\", \"targets\": [{\"tool\" or \"namespace\", \"weight\"}], \"fallbacks\"}} (docs/ROUTING.md)",
                 {}, {}, {}, {}});
  return out;
}

namespace {

/// The whole of file `path`; a config_error naming `key` if it cannot be read.
std::string read_text(const std::string& path, const std::string& key, const std::string& what) {
  std::ifstream in{path};
  if (!in)
    throw config_error(key, "cannot read " + what + path);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

nlohmann::json read_file(const std::string& path) {
  auto text = read_text(path, "", "config file ");
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) { // parse_error, or out_of_range for 1E999
    // e.what() carries "[json.exception.parse_error.101] parse error at line L, column C: ..."
    std::string msg = e.what();
    auto pos = msg.find("] ");
    throw config_error("", "config file " + path + " is not valid JSON: "
                             + (pos == std::string::npos ? msg : msg.substr(pos + 2)));
  }
}

std::string host_name() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == '\0')
    return "cafmcp";
  return buf;
}

} // namespace

node_config load_node_config(const std::optional<std::string>& file, const node_overrides& overrides) {
  auto raw = file ? read_file(*file) : nlohmann::json::object();
  if (!raw.is_object())
    throw config_error("", "config file " + *file + " must hold a JSON object");
  if (overrides.name)
    raw["name"] = *overrides.name;
  if (overrides.data_dir)
    raw["data_dir"] = *overrides.data_dir;
  if (overrides.metrics_port)
    raw["observability"]["port"] = *overrides.metrics_port;
  if (overrides.otlp_endpoint) {
    raw["observability"]["tracing"]["endpoint"] = *overrides.otlp_endpoint;
    raw["observability"]["tracing"]["enabled"] = true;
  }
  if (overrides.log_level)
    raw["log"]["level"] = *overrides.log_level;
  if (overrides.log_format)
    raw["log"]["format"] = *overrides.log_format;
  if (overrides.log_file)
    raw["log"]["file"] = *overrides.log_file;
  if (overrides.host)
    raw["http"]["host"] = *overrides.host;
  if (overrides.cluster_port) {
    raw["cluster"]["port"] = *overrides.cluster_port;
    raw["cluster"]["enabled"] = true;
  }
  if (overrides.seeds) {
    raw["cluster"]["seeds"] = *overrides.seeds;
    raw["cluster"]["enabled"] = true;
  }
  if (overrides.cookie_file)
    raw["cluster"]["cookie_file"] = *overrides.cookie_file;
  if (overrides.cluster_host)
    raw["cluster"]["host"] = *overrides.cluster_host;
  if (overrides.certs_dir)
    raw["cluster"]["certs_dir"] = *overrides.certs_dir;
  if (overrides.insecure)
    raw["cluster"]["insecure"] = true;
  if (overrides.audit_log)
    raw["admin"]["audit_log"] = *overrides.audit_log;
  if (overrides.audit_key_file)
    raw["admin"]["audit_key_file"] = *overrides.audit_key_file;
  if (overrides.http_port)
    raw["http"]["port"] = *overrides.http_port;
  if (overrides.stdio) {
    // A stdio server serves stdio only: hosts start one per window or per
    // client, and each would take the default ports from the next. A port
    // asked for (a flag, or the file naming the port or `enabled`) is served.
    auto asked = [&raw](const char* section) {
      auto s = raw.find(section);
      return s != raw.end() && s->is_object() && (s->contains("port") || s->contains("enabled"));
    };
    for (auto section : {"http", "observability"})
      if (!asked(section))
        raw[section]["enabled"] = false;
  }
  auto v = config::validate(raw, node_config_schema());
  node_config out;
  out.name = v["name"].get<std::string>();
  if (out.name.empty())
    out.name = host_name();
  v["name"] = out.name;
  log::parse_level(v["log"]["level"].get<std::string>(), out.log_level);
  log::parse_format(v["log"]["format"].get<std::string>(), out.log_format);
  out.log_file = v["log"]["file"].get<std::string>();
  out.scheduler_policy = v["scheduler"]["policy"].get<std::string>();
  out.scheduler_max_threads = v["scheduler"]["max_threads"].get<int>();
  auto& sv = v["supervision"];
  out.tier_flags.intensity = sv["intensity"].get<int>();
  out.tier_flags.period = std::chrono::milliseconds{sv["period_ms"].get<int64_t>()};
  out.shutdown_grace = std::chrono::milliseconds{sv["shutdown_grace_ms"].get<int64_t>()};
  auto& rb = sv["restart_backoff"];
  out.restart_backoff = supervision::backoff_policy{
    std::chrono::milliseconds{rb["initial_ms"].get<int64_t>()}, std::chrono::milliseconds{rb["max_ms"].get<int64_t>()},
    rb["multiplier"].get<double>(), rb["jitter"].get<double>(),
    std::chrono::milliseconds{rb["reset_after_ms"].get<int64_t>()}};
  if (out.restart_backoff.initial > out.restart_backoff.max)
    throw config_error("supervision.restart_backoff.initial_ms", "must not exceed supervision.restart_backoff.max_ms");
  out.core = actors::core_config_from(v);
  out.core.flags.intensity = out.tier_flags.intensity;
  out.core.flags.period = out.tier_flags.period;
  out.health.interval = std::chrono::milliseconds{v["health"]["interval_ms"].get<int64_t>()};
  auto& mcp = v["mcp"];
  out.max_message_bytes = mcp["max_message_bytes"].get<size_t>();
  out.page_size = mcp["page_size"].get<size_t>();
  out.tool_workers = mcp["tool_workers"].get<size_t>();
  out.max_inflight_calls = mcp["max_inflight_calls"].get<size_t>();
  out.list_ttl = std::chrono::milliseconds{mcp["list_ttl_ms"].get<int64_t>()};
  out.instructions = mcp["instructions"].get<std::string>();
  out.conformance_tools = mcp["conformance_tools"].get<bool>();
  auto& auth = mcp["auth"];
  out.http_limits.auth.enabled = auth["enabled"].get<bool>();
  out.http_limits.auth.resource = auth["resource"].get<std::string>();
  out.http_limits.auth.authorization_servers = auth["authorization_servers"].get<std::vector<std::string>>();
  out.http_limits.auth.scopes_supported = auth["scopes_supported"].get<std::vector<std::string>>();
  auto tool_scopes = auth["tool_scopes"].get<std::vector<std::string>>();
  for (size_t i = 0; i < tool_scopes.size(); ++i) {
    try {
      auto [tool, scope] = protocol::parse_tool_scope(tool_scopes[i]);
      out.http_limits.auth.tool_scopes[tool] = scope;
    } catch (const std::invalid_argument& e) {
      throw config_error("mcp.auth.tool_scopes[" + std::to_string(i) + "]", e.what());
    }
  }
  auto entries = auth["static_tokens"].get<std::vector<std::string>>();
  for (size_t i = 0; i < entries.size(); ++i) {
    try {
      out.http_limits.auth.static_tokens.push_back(protocol::parse_static_token(entries[i]));
    } catch (const std::invalid_argument& e) {
      throw config_error("mcp.auth.static_tokens[" + std::to_string(i) + "]", e.what());
    }
  }
  auto& jwt = auth["jwt"];
  auto& js = out.http_limits.auth.jwt;
  js.issuer = jwt["issuer"].get<std::string>();
  js.audience = jwt["audience"].get<std::string>();
  js.leeway = std::chrono::seconds{jwt["leeway_s"].get<int64_t>()};
  js.tenant_claim = jwt["tenant_claim"].get<std::string>();
  if (auto jwks = jwt["jwks_file"].get<std::string>(); !jwks.empty()) {
    auto text = read_text(jwks, "mcp.auth.jwt.jwks_file", "");
    try {
      js.keys = protocol::parse_jwks(text);
    } catch (const std::invalid_argument& e) {
      throw config_error("mcp.auth.jwt.jwks_file", jwks + ": " + e.what());
    }
  }
  if (auto url = jwt["jwks_url"].get<std::string>(); !url.empty()) {
    if (!js.keys.empty())
      throw config_error("mcp.auth.jwt.jwks_url", "give jwks_url or jwks_file, not both");
    if (auto why = protocol::check_jwks_url(url); !why.empty())
      throw config_error("mcp.auth.jwt.jwks_url", url + ": " + why);
    auto refresh = std::chrono::seconds{jwt["jwks_refresh_s"].get<int64_t>()};
    auto least = std::chrono::seconds{jwt["jwks_min_refresh_s"].get<int64_t>()};
    if (least > refresh)
      throw config_error("mcp.auth.jwt.jwks_min_refresh_s", "must not exceed mcp.auth.jwt.jwks_refresh_s");
    auto ca = jwt["jwks_ca_file"].get<std::string>();
    if (!ca.empty())
      read_text(ca, "mcp.auth.jwt.jwks_ca_file", ""); // there and readable now, not at the first fetch
    js.source = std::make_shared<protocol::jwks_store>(url, ca, refresh, least);
  }
  if (js.enabled() && js.issuer.empty())
    throw config_error("mcp.auth.jwt.issuer", "needed with mcp.auth.jwt.jwks_file or jwks_url: the iss your "
                                              "provider puts in its tokens, e.g. https://id.example.com/");
  if (out.http_limits.auth.enabled && out.http_limits.auth.static_tokens.empty() && !js.enabled())
    throw config_error("mcp.auth.static_tokens",
                       "mcp.auth.enabled needs at least one entry, mcp.auth.jwt.jwks_file or jwks_url (make a "
                       "static token with: cafmcp token create --subject NAME)");
  out.tasks.ttl = std::chrono::milliseconds{mcp["tasks"]["ttl_ms"].get<int64_t>()};
  out.tasks.poll_interval = std::chrono::milliseconds{mcp["tasks"]["poll_interval_ms"].get<int64_t>()};
  out.tasks.max_tasks = mcp["tasks"]["max_tasks"].get<size_t>();
  auto& h = v["http"];
  out.http_enabled = h["enabled"].get<bool>();
  out.http_host = h["host"].get<std::string>();
  out.http_port = h["port"].get<uint16_t>();
  out.http_path = h["path"].get<std::string>();
  if (out.http_path.empty() || out.http_path[0] != '/')
    throw config_error("http.path", "must start with /, got \"" + out.http_path + "\"");
  out.http_allowed_origins = h["allowed_origins"].get<std::vector<std::string>>();
  out.http_threads = h["threads"].get<int>();
  out.http_max_sessions = h["max_sessions"].get<size_t>();
  out.http_keepalive = std::chrono::milliseconds{h["keepalive_ms"].get<int64_t>()};
  out.http_limits.header_timeout = std::chrono::milliseconds{h["header_timeout_ms"].get<int64_t>()};
  out.http_limits.body_timeout = std::chrono::milliseconds{h["body_timeout_ms"].get<int64_t>()};
  out.http_limits.idle_timeout = std::chrono::milliseconds{h["idle_timeout_ms"].get<int64_t>()};
  out.http_limits.max_connections = h["max_connections"].get<size_t>();
  out.http_limits.max_connections_per_client = h["max_connections_per_client"].get<size_t>();
  out.http_limits.max_stream_queue_bytes = h["max_stream_queue_bytes"].get<size_t>();
  out.http_limits.socket_send_buffer = h["socket_send_buffer_bytes"].get<size_t>();
  out.http_limits.allowed_hosts = h["allowed_hosts"].get<std::vector<std::string>>();
  out.http_limits.tenant_header = h["tenant_header"].get<std::string>();
  if (!out.http_limits.tenant_header.empty() && !protocol::detail::is_header_name(out.http_limits.tenant_header))
    throw config_error("http.tenant_header", "\"" + out.http_limits.tenant_header
                                                + "\" is not a header name (letters, digits and - ! # $ % & ' * + . ^ _ ` | ~)");
  auto& c = v["cluster"];
  out.cluster.enabled = c["enabled"].get<bool>();
  out.cluster.name = out.name;
  out.cluster.host = c["host"].get<std::string>();
  out.cluster.port = c["port"].get<uint16_t>();
  out.cluster.seeds = c["seeds"].get<std::vector<std::string>>();
  for (auto& seed : out.cluster.seeds)
    if (!cluster::parse_host_port(seed))
      throw config_error("cluster.seeds", "\"" + seed + "\" is not HOST:PORT (port 1 … 65535)");
  out.cookie_file = c["cookie_file"].get<std::string>();
  out.cluster.heartbeat = std::chrono::milliseconds{c["heartbeat_ms"].get<int64_t>()};
  out.cluster.unhealthy_after = c["unhealthy_after"].get<uint32_t>();
  out.cluster.remove_after = std::chrono::milliseconds{c["remove_after_ms"].get<int64_t>()};
  out.routes_poll = std::chrono::milliseconds{c["routes_poll_ms"].get<int64_t>()};
  out.run_time_programs = c["run_time_programs"].get<std::vector<std::string>>();
  out.member_call_timeout = std::chrono::milliseconds{c["member_call_timeout_ms"].get<int64_t>()};
  auto& tls = c["tls"];
  out.cluster_tls.certificate = tls["certificate"].get<std::string>();
  out.cluster_tls.key = tls["key"].get<std::string>();
  out.cluster_tls.cafile = tls["cafile"].get<std::string>();
  out.certs_dir = c["certs_dir"].get<std::string>();
  out.cluster.callable = c["callable_actors"].get<std::vector<std::string>>();
  out.cluster_insecure = c["insecure"].get<bool>();
  if (out.cluster_insecure && (!out.cluster_tls.certificate.empty() || !out.cluster_tls.key.empty()))
    throw config_error("cluster.insecure", "cannot be combined with cluster.tls.certificate or key");
  auto& sb = c["split_brain"];
  out.cluster.sbr.strategy = *cluster::parse_strategy(sb["strategy"].get<std::string>());
  out.cluster.sbr.stable_after = std::chrono::milliseconds{sb["stable_after_ms"].get<int64_t>()};
  out.cluster.sbr.down_if_alone = sb["down_if_alone"].get<bool>();
  out.cluster.sbr.quorum_size = sb["quorum_size"].get<size_t>();
  out.cluster.sbr.master = sb["master"].get<std::string>();
  if (out.cluster.sbr.strategy == cluster::sbr_strategy::configured_master && out.cluster.sbr.master.empty())
    throw config_error("cluster.split_brain.master", "configured_master needs the name of the master node");
  auto& rep = c["replication"];
  out.replication.factor = rep["factor"].get<size_t>();
  cluster::parse_consistency(rep["consistency"].get<std::string>(), out.replication.level);
  out.replication.write_timeout = std::chrono::milliseconds{rep["write_timeout_ms"].get<int64_t>()};
  out.replication.breakers = out.core.breakers;
  // A member is tried again after one forward timeout: once it answers
  // again it must not wait a tool's open timeout.
  auto peer = out.core.breakers->config();
  peer.open_timeout = out.replication.write_timeout + std::chrono::milliseconds{500};
  out.core.breakers->configure_prefix(actors::peer_breaker_prefix, peer);
  out.cluster.breakers = out.core.breakers;
  out.replication.clock_offset_ms = rep["clock_offset_ms"].get<int64_t>();
  out.replication.max_clock_drift_ms = rep["max_clock_drift_ms"].get<int64_t>();
  out.replication.tombstone_ttl = std::chrono::milliseconds{rep["tombstone_ttl_ms"].get<int64_t>()};
  out.replication.sweep = rep["sweep"].get<bool>();
  out.replication.ttl = out.core.sessions.ttl;
  out.data_dir = v["data_dir"].get<std::string>();
  if (out.data_dir.empty())
    out.data_dir = "cafmcp-data/" + out.name;
  out.replication.snapshot_interval = std::chrono::milliseconds{rep["snapshot_interval_ms"].get<int64_t>()};
  cluster::parse_durability(rep["durability"].get<std::string>(), out.replication.durable);
  out.replication.group_commit = std::chrono::milliseconds{rep["group_commit_ms"].get<int64_t>()};
  out.audit_log = v["admin"]["audit_log"].get<std::string>();
  if (out.audit_log.empty())
    out.audit_log = out.name + ".audit.jsonl";
  out.audit_key_file = v["admin"]["audit_key_file"].get<std::string>();
  if (out.audit_key_file.empty())
    out.audit_key_file = out.audit_log + ".key";
  out.health.required_actors = actors::core_actor_names();
  out.web = observability::web_config_from(v);
  out.web.node_name = out.name;
  out.tracing = observability::tracing_config_from(v);
  out.tracing.node_name = out.name;
  out.chaos = observability::chaos_config_from(v);
  out.chaos.node_name = out.name;
  for (auto& [name, entry] : v["upstreams"].items())
    out.upstreams.push_back(protocol::parse_upstream(name, entry));
  out.upstream_fleet = std::make_shared<protocol::upstream_fleet>(v["upstreams"], out.run_time_programs);
  try {
    for (auto& [name, entry] : v["tenants"].items())
      if (!protocol::valid_tenant_name(name))
        throw config_error("tenants." + name, "a tenant's name is 1 to 128 printable characters without spaces");
    out.tenants->replace(protocol::parse_tenants(v["tenants"]));
    out.routes = protocol::parse_routes(v["routes"]);
    if (!out.routes.empty())
      out.live_routes->replace(std::make_shared<const protocol::route_table>(out.routes, 1));
  } catch (const std::invalid_argument& e) {
    throw config_error("", e.what()); // names its key itself
  }
  out.backup = observability::backup_config_from(v);
  out.backup.node_name = out.name;
  if (out.backup.enabled && !out.cluster.enabled)
    throw config::config_error("backup.enabled", "scheduled backups are of a cluster's records: set cluster.enabled "
                                                 "(or --cluster-port)");
  out.web.backups = out.backup_status;
  out.cluster.faults = out.faults;
  out.tracing.version = CAFMCP_VERSION;
  out.effective = std::move(v);
  return out;
}

} // namespace cafmcp::cli
