#pragma once

// `cafmcp cluster up` starts N local nodes as separate processes on
// 127.0.0.1 and waits until every one is up; `cafmcp cluster down` stops
// nodes started with --detach.

#include <string>

namespace cafmcp::cli {

struct cluster_up_options {
  int nodes = 3;
  int base_port = 4370;           // node k: cluster P+3(k-1), MCP HTTP P+3(k-1)+1
  std::string data_dir = "cafmcp-cluster";
  std::string config_file;        // passed to every node
  std::string cookie_file;        // "": $HOME/.cafmcp.cookie (created if missing)
  std::string certs_dir;          // "": the config's cluster.certs_dir, else $HOME/.cafmcp/certs
  bool insecure = false;          // plain BASP between the nodes (cluster.insecure)
  bool detach = false;
};

/// 0: all up (and, in the foreground, stopped cleanly later); 1: failed; 2: bad usage.
int run_cluster_up(const cluster_up_options& opts);

/// 0: stopped; 1: nothing to stop or a node would not stop.
int run_cluster_down(const std::string& data_dir);

} // namespace cafmcp::cli
