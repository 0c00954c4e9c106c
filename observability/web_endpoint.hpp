#pragma once

// The observability tier's HTTP endpoint (tier 3, under observability_sup):
//   GET /metrics  Prometheus text format 0.0.4: requests, durations, the
//                 supervision tree (restarts, queue depths), circuit
//                 breakers, cluster members, replication, the process
//   GET /health   200 with the checks as JSON when healthy, 503 when
//                 degraded (core actors, quorum, memory, queue depth, error
//                 rate) and the active alerts
//   GET /ready    200 once the node serves (its tree is up and it is not
//                 fenced), else 503: for load balancers and readiness probes
// Everything here only reads the other tiers (the name table, the metrics
// registry, answers to requests with short timeouts); the core never waits
// on it, and it may crash at any rate.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "actors/name_table.hpp"
#include "cluster/cluster_view.hpp"
#include "observability/backup_schedule.hpp"
#include "observability/web_server.hpp"
#include "supervision/child_spec.hpp"
#include "base/config_schema.hpp"
#include "base/metrics.hpp"

namespace cafmcp::observability {

struct web_config {
  bool enabled = true;
  bool request_metrics = true;                   // the endpoint counts requests and durations
  std::string host = "127.0.0.1";
  uint16_t port = 9464;                          // 0: any free port (logged)
  std::string node_name;
  std::chrono::milliseconds alert_window{60000}; // error rate and p95 over this
  double error_rate_alert = 0.05;                // errors / answered requests
  double p95_alert_seconds = 2.0;
  double memory_alert_ratio = 0.8;               // resident memory / machine memory
  int64_t queue_depth_limit = 1000;              // messages waiting in any one actor
  std::vector<std::string> required_actors;      // core actors that must be alive
  std::string cluster_transport;                 // "mutual_tls", "insecure" or "" (no cluster): shown in /health
  web_server_options server;                     // timeouts, limits, the token (token_file)
  std::string mcp_auth;                          // "bearer", "off" or "" (no MCP HTTP): shown in /health
  std::shared_ptr<const backup_status> backups;  // scheduled backups: the "backup" alert while they fail
};

/// The config keys this part owns ("observability").
std::vector<config::field> web_config_schema();
web_config web_config_from(const nlohmann::json& validated);

/// The endpoint's child spec (id "web", detached: it owns an I/O thread).
supervision::child_spec web_endpoint_spec(web_config cfg, std::shared_ptr<actors::name_table> names,
                                          std::shared_ptr<cluster::cluster_view> view,
                                          std::shared_ptr<metrics::metrics_registry> metrics);

} // namespace cafmcp::observability
