#pragma once

// One stateless MCP 2026-07-28 tools/call over HTTP, for black-box tests.

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/support/http_client.hpp"

namespace cafmcp::test {

struct mcp_reply {
  int status = 0;       // HTTP status (0: no answer)
  nlohmann::json body;  // the JSON-RPC reply, or the raw body as a string when it is not JSON
};

/// The JSON-RPC request of a stateless tools/call.
inline nlohmann::json mcp_tool_call_body(const std::string& tool, const nlohmann::json& args) {
  return {{"jsonrpc", "2.0"},
          {"id", 1},
          {"method", "tools/call"},
          {"params",
           {{"name", tool},
            {"arguments", args},
            {"_meta",
             {{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
              {"io.modelcontextprotocol/clientCapabilities", nlohmann::json::object()}}}}}};
}

/// `extra` headers go with it (e.g. traceparent).
inline mcp_reply mcp_tool_call(uint16_t port, const std::string& tool, const nlohmann::json& args,
                               std::chrono::milliseconds timeout = std::chrono::seconds(10),
                               const std::vector<std::pair<std::string, std::string>>& extra = {}) {
  auto body = mcp_tool_call_body(tool, args);
  std::vector<std::pair<std::string, std::string>> headers{{"Content-Type", "application/json"},
                                                           {"Accept", "application/json, text/event-stream"},
                                                           {"MCP-Protocol-Version", "2026-07-28"},
                                                           {"Mcp-Method", "tools/call"},
                                                           {"Mcp-Name", tool}};
  headers.insert(headers.end(), extra.begin(), extra.end());
  auto r = http_request(port, "POST", "/mcp", headers, body.dump(), timeout);
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  return mcp_reply{r.status, j.is_discarded() ? nlohmann::json(r.body) : j};
}

} // namespace cafmcp::test
