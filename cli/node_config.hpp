#pragma once

// The node's configuration: one JSON file, validated against the schemas of
// every part at start (unknown keys and wrong types are errors naming the
// key). Command-line flags override the file; the file overrides defaults.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/core_sup.hpp"
#include "cluster/client.hpp"
#include "cluster/node.hpp"
#include "cluster/replicator.hpp"
#include "observability/backup_schedule.hpp"
#include "observability/chaos.hpp"
#include "observability/health.hpp"
#include "observability/otlp_exporter.hpp"
#include "observability/web_endpoint.hpp"
#include "protocol/http_transport.hpp"
#include "protocol/task_registry.hpp"
#include "protocol/live_routes.hpp"
#include "protocol/upstream_fleet.hpp"
#include "protocol/route_table.hpp"
#include "protocol/tenant_policy.hpp"
#include "protocol/upstream.hpp"
#include "supervision/child_spec.hpp"
#include "base/config_schema.hpp"
#include "base/log.hpp"

namespace cafmcp::cli {

struct node_config {
  std::string name;
  log::level log_level = log::level::info;
  log::format log_format = log::format::text;
  std::string log_file; // "": stderr
  std::string scheduler_policy = "sharing";
  int scheduler_max_threads = 2;
  supervision::supervisor_flags tier_flags; // root, core, protocol, cluster
  std::chrono::milliseconds shutdown_grace{30000};
  /// Restart delays of the children that talk to the outside.
  supervision::backoff_policy restart_backoff{std::chrono::milliseconds{1000}, std::chrono::milliseconds{30000}, 2, 0.2};
  actors::core_config core;
  observability::health_config health;
  observability::web_config web; // /metrics, /health, /ready
  observability::tracing_config tracing; // spans, exported over OTLP/HTTP
  observability::chaos_config chaos;
  observability::backup_schedule_config backup; // scheduled backups (the leader runs them)
  /// The schedule's outcome, shared by its actor and the web endpoint (the "backup" alert).
  std::shared_ptr<observability::backup_status> backup_status = std::make_shared<observability::backup_status>();
  /// What chaos experiments inject, shared by the node actor (messages),
  /// the tool workers (calls) and the chaos actor.
  std::shared_ptr<actors::fault_injection> faults = std::make_shared<actors::fault_injection>();
  size_t max_message_bytes = 4 * 1024 * 1024;
  size_t page_size = 50;
  size_t tool_workers = 4;
  size_t max_inflight_calls = 10000;
  size_t http_max_sessions = 10000;
  std::chrono::milliseconds list_ttl{60000};
  std::string instructions;
  bool conformance_tools = false;
  protocol::task_config tasks;
  bool http_enabled = true;
  std::string http_host = "127.0.0.1";
  uint16_t http_port = 8080;
  std::string http_path = "/mcp";
  std::vector<std::string> http_allowed_origins;
  int http_threads = 1;
  std::chrono::milliseconds http_keepalive{15000};
  protocol::http_config http_limits; // timeouts, connection limits, allowed hosts (the rest: the fields above)
  cluster::cluster_config cluster; // cookie loaded at start, from cookie_file
  std::string cookie_file;         // "": the default ($HOME/.cafmcp.cookie)
  cluster::tls_files cluster_tls;  // TLS between nodes: the explicit files (resolve_cluster_security fills in the rest)
  std::string certs_dir;           // cluster.certs_dir ("": $HOME/.cafmcp/certs)
  bool cluster_insecure = false;   // cluster.insecure: plain BASP, loopback only
  cluster::replication_config replication; // MCP state across members
  std::string audit_log;           // the admin actor's audit log
  std::string audit_key_file;      // the key of its chain (default: audit_log + ".key")
  std::string audit_key;           // loaded at start, from audit_key_file
  std::string data_dir;            // replicas on disk (cluster nodes)
  std::vector<protocol::upstream_config> upstreams; // upstream MCP servers (docs/ROUTING.md)
  std::vector<protocol::route_rule> routes;          // routing rules for tools/call (docs/ROUTING.md)
  /// The rules tool calls are decided by: the config's (version 1) until
  /// the cluster has a newer version (cluster/route_sync.hpp).
  std::shared_ptr<protocol::live_routes> live_routes = std::make_shared<protocol::live_routes>();
  std::chrono::milliseconds routes_poll{1000};       // cluster.routes_poll_ms
  std::vector<std::string> run_time_programs;        // cluster.run_time_programs
  std::chrono::milliseconds member_call_timeout{60000}; // cluster.member_call_timeout_ms
  /// The upstreams the node runs: its config's until the cluster's routing
  /// version names others (cafmcp upstreams add|remove).
  std::shared_ptr<protocol::upstream_fleet> upstream_fleet;
  /// Where the member_tools agent finds the endpoint environment (calls
  /// other members route here; cli/member_calls.hpp).
  std::shared_ptr<std::shared_ptr<const protocol::endpoint_env>> member_endpoint =
    std::make_shared<std::shared_ptr<const protocol::endpoint_env>>();
  // Tenants' catalog views and rate limits: the config's, replaced when the
  // cluster's routing version names others (cafmcp tenants add|remove).
  std::shared_ptr<protocol::tenant_policy> tenants = std::make_shared<protocol::tenant_policy>();
  nlohmann::json effective; // the validated JSON, defaults filled in
};

/// Mutual TLS between nodes unless cluster.insecure: fills in cluster_tls
/// from certs_dir (node.NAME.crt, node.NAME.key, ca.crt) where not given,
/// and checks that the files can be read, the certificate chains to the CA,
/// names this node (CN=name, OU=node) and matches the key; insecure is
/// allowed on a loopback cluster.host only. Throws config_error naming the
/// key and how to fix it. Nothing to do unless cluster.enabled.
void resolve_cluster_security(node_config& cfg);

/// Every key a node config may have.
std::vector<config::field> node_config_schema();

/// Overrides from the command line (unset: keep the file's value).
struct node_overrides {
  std::optional<std::string> name;
  std::optional<std::string> log_level;
  std::optional<std::string> log_format;
  std::optional<std::string> log_file;
  std::optional<std::string> host;
  std::optional<int> http_port;
  std::optional<int> cluster_port;
  std::optional<std::vector<std::string>> seeds;
  std::optional<std::string> cookie_file;
  std::optional<std::string> cluster_host;
  std::optional<std::string> certs_dir;
  bool insecure = false; // --insecure: cluster.insecure
  std::optional<std::string> audit_log;
  std::optional<std::string> audit_key_file;
  std::optional<std::string> data_dir;
  std::optional<int> metrics_port;
  std::optional<std::string> otlp_endpoint; // turns tracing on
  bool stdio = false; // --stdio: the HTTP and observability ports only when asked for
};

/// Reads and validates the config file (none: defaults only) and applies the
/// overrides. Throws config::config_error with a message for the operator.
node_config load_node_config(const std::optional<std::string>& file, const node_overrides& overrides);

} // namespace cafmcp::cli
