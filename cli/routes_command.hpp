#pragma once

// `cafmcp routes list|test --config FILE`: the routing rules a node config
// holds, and which rule a sample request matches and why (docs/ROUTING.md).
// Offline: the same parsing and decisions a node makes, no node needed.

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "protocol/route_table.hpp"

namespace cafmcp::cli {

struct routes_options {
  std::string config_file;
  std::string name;                 // test: the tool called
  std::string tenant;               // test: the caller's tenant ("": none)
  std::string method = "tools/call";
  std::vector<std::string> headers; // test: "Name: value"
  std::vector<std::string> down;    // test: tools to treat as unavailable
};

/// The rules in decision order, as a table under "rules version N" (null
/// or empty: a line saying there are none).
std::string render_routes(const protocol::route_table* table, uint64_t version);

/// Explains the sample request of `opts` (name, tenant, method, headers,
/// down) against `table` on `out`; the exit code of `routes test`. Bad
/// input is said on `err`, prefixed with `cmd`.
int explain_route(const protocol::route_table& table, const routes_options& opts, std::ostream& out,
                  std::ostream& err, const std::string& cmd);

/// Prints the rules in decision order. 0, or 2 on a bad config.
int run_routes_list(const routes_options& opts);

/// Prints each rule checked for the sample request and the decision. 0
/// when a rule decides or none matches; 2 on bad input; 1 when the
/// matching rule has nothing available.
int run_routes_test(const routes_options& opts);

} // namespace cafmcp::cli
