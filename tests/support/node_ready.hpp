#pragma once

// The node's ready line, `node NAME ready cluster=… mcp=… observability=…`:
// the one line a black-box test waits for (whole, never a word in it) and
// reads the node's bound ports from.

#include <chrono>
#include <cstdint>
#include <optional>
#include <regex>
#include <string>

#include "tests/support/process.hpp"

namespace cafmcp::test {

/// What a node's ready line says; a port is 0 when that part is off or unbound.
struct ready_line {
  std::string line;
  std::string cluster; // HOST:PORT, or "off"
  uint16_t mcp_port = 0;
  uint16_t web_port = 0; // /metrics, /health, /ready
};

/// Waits for node `name`'s ready line (any name when empty: the default is
/// the host name) on `node`'s stderr (text or JSON log); nullopt when it does
/// not come within `timeout` or the process ends first.
inline std::optional<ready_line> wait_ready(process& node, const std::string& name = {},
                                            std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  auto quoted = name.empty() ? std::string{R"(\S+)"}
                             : std::regex_replace(name, std::regex{R"([.^$|()\[\]{}*+?\\])"}, R"(\$&)");
  // The message, then the whole line in either log format:
  // "<timestamp> info    [<node> ]/: <message>" or {"ts":…,"path":"/","msg":"<message>"}.
  std::string message = "node " + quoted
                        + R"( ready cluster=([^\s"]+) mcp=(?:off|unbound|http://[^/\s"]+:(\d+)/[^\s"]*))"
                          R"( observability=(?:off|unbound|http://[^/\s"]+:(\d+)))";
  std::regex pattern{R"((?:\S+ info +(?:\S+ )?/: )" + message + R"()|(?:\{"ts":"[^"]*","level":"info","node":"[^"]*","path":"/","msg":")"
                     + message + R"("\}))"};
  auto line = node.wait_for_stderr_line(pattern, timeout);
  if (!line)
    return std::nullopt;
  std::smatch m;
  std::regex_search(*line, m, std::regex{message});
  ready_line out;
  out.line = *line;
  out.cluster = m[1];
  if (m[2].matched)
    out.mcp_port = static_cast<uint16_t>(std::stoi(m[2]));
  if (m[3].matched)
    out.web_port = static_cast<uint16_t>(std::stoi(m[3]));
  return out;
}

} // namespace cafmcp::test
