#pragma once

// `cafmcp routes list|test --config FILE`: the routing rules a node config
// holds, and which rule a sample request matches and why (docs/ROUTING.md).
// Offline: the same parsing and decisions a node makes, no node needed.

#include <string>
#include <vector>

namespace cafmcp::cli {

struct routes_options {
  std::string config_file;
  std::string name;                 // test: the tool called
  std::string tenant;               // test: the caller's tenant ("": none)
  std::string method = "tools/call";
  std::vector<std::string> headers; // test: "Name: value"
  std::vector<std::string> down;    // test: tools to treat as unavailable
};

/// Prints the rules in decision order. 0, or 2 on a bad config.
int run_routes_list(const routes_options& opts);

/// Prints each rule checked for the sample request and the decision. 0
/// when a rule decides or none matches; 2 on bad input; 1 when the
/// matching rule has nothing available.
int run_routes_test(const routes_options& opts);

} // namespace cafmcp::cli
