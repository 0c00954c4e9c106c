#pragma once

// The MCP protocol versions cafmcp serves, by era.

#include <string>
#include <string_view>
#include <vector>

namespace cafmcp::protocol {

/// Stateless revisions (every request carries its version in _meta).
const std::vector<std::string>& modern_versions();

/// Session-based revisions (initialize + sessions), newest first.
const std::vector<std::string>& legacy_versions();

/// Every version served, newest first (server/discover's supportedVersions).
const std::vector<std::string>& all_versions();

bool is_modern(std::string_view v);
bool is_legacy(std::string_view v);

/// JSON-RPC batches exist only in 2025-03-26.
bool allows_batch(std::string_view legacy_version);

/// The _meta keys of the stateless revision.
namespace meta_key {
constexpr const char* protocol_version = "io.modelcontextprotocol/protocolVersion";
constexpr const char* client_capabilities = "io.modelcontextprotocol/clientCapabilities";
constexpr const char* client_info = "io.modelcontextprotocol/clientInfo";
constexpr const char* server_info = "io.modelcontextprotocol/serverInfo";
constexpr const char* log_level = "io.modelcontextprotocol/logLevel";
constexpr const char* subscription_id = "io.modelcontextprotocol/subscriptionId";
} // namespace meta_key

/// MCP-specific error codes.
namespace mcp_code {
constexpr int server_busy = -32000; // cafmcp: too many calls in flight; retry later (HTTP 503)
constexpr int resource_not_found_legacy = -32002;
constexpr int header_mismatch = -32020;
constexpr int missing_client_capability = -32021;
constexpr int unsupported_protocol_version = -32022;
constexpr int rate_limited = -32029; // cafmcp: over a rate limit; data.retryAfterMs (HTTP 429 + Retry-After)
constexpr int node_fenced = -32030; // cafmcp: this node is on the losing side of a partition
constexpr int unavailable = -32031;  // cafmcp: a dependency's circuit is open; data.retryAfterMs (HTTP 503)
} // namespace mcp_code

} // namespace cafmcp::protocol
