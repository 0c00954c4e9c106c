#pragma once
// A legacy (session-based) MCP session's protocol state, and its record format in the session manager.

#include <optional>
#include <set>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace cafmcp::protocol {

/// A legacy session: what `initialize` and later requests set. Its record
/// (the session manager's info text) lets another node serve the session
/// after this one is gone.
struct legacy_session {
  std::string id; // its record in the session manager (= Mcp-Session-Id)
  std::string protocol_version;
  nlohmann::json client_info;
  nlohmann::json client_capabilities;
  bool initialized = false; // notifications/initialized arrived
  std::string log_level;    // from logging/setLevel ("": none)
  std::set<std::string> subscriptions;
  /// The bearer token's subject that started it ("": no authorisation):
  /// no other subject may use it, on any node.
  std::string subject;
  /// The tenant that started it ("": none): no other tenant may use it.
  std::string tenant;

  /// {"kind": "legacy_session", "protocolVersion", "clientInfo",
  /// "capabilities", "logLevel", "subscriptions", "subject", "tenant" (when set)}: the format on disk and
  /// between nodes (change it only with a migration). Without the id (the
  /// record's key) and `initialized`.
  nlohmann::json to_json() const;
  /// The session `id` recorded in `j` (initialized: a client that comes
  /// back has finished its handshake), or nullopt when `j` is no legacy
  /// session (e.g. a state handle's record).
  static std::optional<legacy_session> from_json(const std::string& id, const nlohmann::json& j);
  /// The same from a record's info text.
  static std::optional<legacy_session> from_info(const std::string& id, std::string_view info);
};

} // namespace cafmcp::protocol
