#pragma once

// `cafmcp status`: connects to any node over CAF (proving the cluster
// cookie) and prints one row per member as that node sees it.

#include <string>

namespace cafmcp::cli {

struct status_options {
  std::string node = "127.0.0.1:4370"; // the node's cluster port
  std::string cookie_file;             // "": the config's, else $HOME/.cafmcp.cookie
  std::string config_file;             // a node config: its cookie file and TLS settings
  bool json = false;
  bool watch = false;                  // refresh every second until a key or EOF on stdin
};

/// 0: printed; 1: no node answered, or it refused us; 2: bad usage.
int run_status(const status_options& opts);

} // namespace cafmcp::cli
