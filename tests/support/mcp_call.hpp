#pragma once

// One stateless MCP 2026-07-28 tools/call over HTTP, for black-box tests.

#include <chrono>
#include <string>
#include <thread>
#include <vector>

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

/// POSTs `body` (a stateless tools/call, as mcp_tool_call_body makes it)
/// with the headers the spec requires and `extra` ones; the HTTP reply as
/// it came (JSON, or an SSE stream of progress and logs).
inline http_reply mcp_post_tool_call(uint16_t port, const nlohmann::json& body,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(10),
                                     const std::vector<std::pair<std::string, std::string>>& extra = {}) {
  std::vector<std::pair<std::string, std::string>> headers{{"Content-Type", "application/json"},
                                                           {"Accept", "application/json, text/event-stream"},
                                                           {"MCP-Protocol-Version", "2026-07-28"},
                                                           {"Mcp-Method", "tools/call"},
                                                           {"Mcp-Name", body["params"]["name"].get<std::string>()}};
  headers.insert(headers.end(), extra.begin(), extra.end());
  return http_request(port, "POST", "/mcp", headers, body.dump(), timeout);
}

/// `extra` headers go with it (e.g. traceparent).
inline mcp_reply mcp_tool_call(uint16_t port, const std::string& tool, const nlohmann::json& args,
                               std::chrono::milliseconds timeout = std::chrono::seconds(10),
                               const std::vector<std::pair<std::string, std::string>>& extra = {}) {
  auto r = mcp_post_tool_call(port, mcp_tool_call_body(tool, args), timeout, extra);
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  return mcp_reply{r.status, j.is_discarded() ? nlohmann::json(r.body) : j};
}

/// The JSON-RPC reply of one tools/call (a string when there was none).
inline nlohmann::json call_tool(uint16_t port, const std::string& tool, const nlohmann::json& args) {
  return mcp_tool_call(port, tool, args).body;
}

/// A result that is not an error result.
inline bool ok(const nlohmann::json& reply) {
  return reply.is_object() && reply.contains("result") && !reply["result"].value("isError", false);
}

/// The first text content of a result, else the whole reply.
inline std::string text_of(const nlohmann::json& reply) {
  if (reply.is_object() && reply.contains("result") && reply["result"]["content"].is_array())
    return reply["result"]["content"][0].value("text", "");
  return reply.dump();
}

/// Opens a state handle through `port` (retried while a cluster settles; "" if it never opens).
inline std::string open_handle(uint16_t port) {
  for (int i = 0; i < 50; ++i) {
    auto r = call_tool(port, "session_open", nlohmann::json::object());
    if (ok(r))
      return r["result"]["structuredContent"]["handle"];
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
  }
  return {};
}

/// One legacy (2025-06-18) JSON-RPC request on HTTP, in session `sid` ("" for initialize).
inline http_reply legacy_post(uint16_t port, const std::string& sid, const nlohmann::json& msg) {
  std::vector<std::pair<std::string, std::string>> headers{{"Content-Type", "application/json"},
                                                           {"Accept", "application/json, text/event-stream"}};
  if (!sid.empty()) {
    headers.emplace_back("Mcp-Session-Id", sid);
    headers.emplace_back("MCP-Protocol-Version", "2025-06-18");
  }
  return http_request(port, "POST", "/mcp", headers, msg.dump(), std::chrono::seconds(10));
}

} // namespace cafmcp::test
