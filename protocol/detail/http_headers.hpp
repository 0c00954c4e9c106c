#pragma once
// HTTP header and status helpers of the Streamable HTTP transport (no Beast here: cheap to compile and test).

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cafmcp::protocol::detail {

/// `s` in lower case (ASCII).
std::string lower(std::string s);

/// Decodes an `=?base64?...?=` header value (MCP 2026-07-28); other values
/// are returned as they are. Returns false for a malformed encoding.
bool decode_header_value(const std::string& in, std::string& out);

/// True for http(s)://localhost, 127.0.0.1 and [::1] (any port) and for `extra`.
bool origin_allowed(const std::string& origin, const std::vector<std::string>& extra);

/// For a server bound to a loopback address (DNS rebinding): true when the
/// Host header names localhost, 127.0.0.1 or [::1] (any port), or a name in
/// `extra` (with or without a port). A missing Host is refused.
bool host_allowed(const std::string& host, const std::vector<std::string>& extra);

/// True for an HTTP field name (RFC 9110 token: letters, digits and
/// !#$%&'*+-.^_`|~), at most 256 characters; "" is none.
bool is_header_name(const std::string& name);

/// True for a tenant named by a header (http.tenant_header): 1 … 128
/// visible ASCII characters, no spaces.
bool is_tenant_name(const std::string& name);

/// True for 127.0.0.0/8, ::1 and "localhost".
bool is_loopback_host(const std::string& host);

/// The HTTP status code for a JSON-RPC response: 200 unless it is an error
/// that maps to one (legacy clients read most errors from a 200).
unsigned http_status_for(const nlohmann::json& response, bool modern);

/// The Retry-After value (whole seconds) for an error whose data carries
/// retryAfterMs (rate limited, a circuit open); "": none.
std::string retry_after_for(const nlohmann::json& response);

/// The request's correlation id: `given` when it is 1 … 128 characters of
/// [A-Za-z0-9._:-], else a fresh UUIDv4.
std::string correlation_for(const std::string& given);

/// Why a 2026-07-28 request's headers disagree with its body
/// (MCP-Protocol-Version, Mcp-Method, Mcp-Name), or "" when they agree.
/// `header` reads a request header by its lower-case name ("" when absent).
std::string header_mismatch(const nlohmann::json& body, const std::function<std::string(const char*)>& header);

/// What a body sent with a 2026-07-28 MCP-Protocol-Version header lacks to
/// be a request of that revision ("params._meta is missing", …), or "" when
/// its params._meta names a protocol version.
std::string missing_modern_meta(const nlohmann::json& body);

} // namespace cafmcp::protocol::detail
