#pragma once

// `cafmcp node`: runs one node until SIGINT or SIGTERM, then stops the tree
// in reverse order within the shutdown timeouts.

#include <optional>
#include <string>

#include <functional>

#include "cli/node_config.hpp"
#include "protocol/catalog.hpp"

namespace cafmcp::cli {

struct node_options {
  std::optional<std::string> config_file;
  node_overrides overrides;
  bool print_config = false;   // print the effective config and exit
  bool describe_config = false; // print the config reference (Markdown) and exit
  bool stdio = false;           // serve MCP on stdin/stdout
  /// Adds the server author's tools, resources and prompts to the built-ins.
  std::function<void(protocol::catalog&)> extend;
};

/// Returns the process exit code: 0 clean stop, 1 failure, 2 bad config.
int run_node(const node_options& opts);

} // namespace cafmcp::cli
