#pragma once
// Bearer authorisation of the MCP endpoint as an OAuth 2.1 resource server: which token is whose, what a refusal says, the protected resource metadata.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "protocol/jwt_verifier.hpp"

#include <nlohmann/json.hpp>

namespace cafmcp::protocol {

/// A static API token (for deployments without an identity provider): only
/// its SHA-256 is configured, never the token.
struct static_token {
  std::string sha256; // hex, lower case
  std::string subject;
  std::vector<std::string> scopes;
  std::string tenant; // "": none
};

/// Parses a config entry "sha256:<64 hex> subject=<name> [scopes=<a,b>]
/// [tenant=<t>]"; throws std::invalid_argument naming what is wrong.
static_token parse_static_token(const std::string& entry);

/// Parses a config entry "TOOL=SCOPE" into (tool, scope); throws
/// std::invalid_argument naming what is wrong.
std::pair<std::string, std::string> parse_tool_scope(const std::string& entry);

struct auth_config {
  bool enabled = false;
  /// The canonical URI clients use for this server (RFC 8707), e.g.
  /// https://mcp.example.com/mcp; "": http://<Host header><path>.
  std::string resource;
  std::vector<std::string> authorization_servers; // issuers, for the metadata
  std::vector<std::string> scopes_supported;
  std::vector<static_token> static_tokens;
  jwt_settings jwt; // JWT access tokens (enabled when it has keys)
  /// Scopes tools need, by tool name (the operator's; over a tool's own
  /// required_scope).
  std::map<std::string, std::string> tool_scopes;
};

/// Who a request acts for.
struct principal {
  std::string subject;
  std::vector<std::string> scopes;
  std::string tenant;
};

/// The outcome of checking a request's Authorization header.
struct auth_outcome {
  std::optional<principal> who; // set: allowed
  std::string www_authenticate; // refused: the header of the 401
  std::string message;          // refused: why, for the client
  /// Refused because no key from the JWKS URL has the token's kid: an
  /// early fetch may bring it (cfg.jwt.source->await_fetch).
  bool key_unknown = false;
};

/// Checks `authorization` (the header's value, "" when absent) against the
/// configured static tokens, then as a JWT (cfg.jwt) whose audience is
/// `resource` unless cfg.jwt.audience says otherwise. A refusal's
/// WWW-Authenticate names the resource's metadata URL so a client can find
/// the authorization server (MCP authorization, RFC 9728).
auth_outcome authenticate(const auth_config& cfg, const std::string& authorization, const std::string& resource);

/// The scope a call of tool `tool` needs and `who` lacks ("" : none lacking).
/// `declared` is the tool's own required_scope; cfg.tool_scopes overrides it.
std::string lacking_scope(const auth_config& cfg, const principal& who, const std::string& tool,
                          const std::string& declared);

/// A tools/call the token may not make: its JSON-RPC id, the tool, the scope
/// it needs and what to tell the client.
struct scope_refusal {
  nlohmann::json id;
  std::string tool;
  std::string scope;
  std::string message;
};

/// The first tools/call in `body` (a message or a 2025-03-26 batch) naming a
/// tool whose scope `who` lacks; `declared(tool)` is the tool's own
/// required_scope ("" for none, or an unknown tool).
std::optional<scope_refusal> find_lacking_scope(const auth_config& cfg, const principal& who,
                                                const nlohmann::json& body,
                                                const std::function<std::string(const std::string&)>& declared);

/// The WWW-Authenticate of a 403 for a token without `scope` (RFC 6750 §3.1).
std::string insufficient_scope_challenge(const std::string& metadata_url, const std::string& scope);

/// The resource URI: cfg.resource, else http://<host><path>.
std::string resource_uri(const auth_config& cfg, const std::string& host, const std::string& path);

/// Where the protected resource metadata of `resource` is served (RFC 9728
/// §3.1: /.well-known/oauth-protected-resource then the resource's path).
std::string metadata_url(const std::string& resource);
/// The path part of metadata_url (what the server answers on).
std::string metadata_path(const std::string& resource);

/// The protected resource metadata document (RFC 9728 §2).
nlohmann::json protected_resource_metadata(const auth_config& cfg, const std::string& resource);

} // namespace cafmcp::protocol
