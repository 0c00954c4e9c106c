#pragma once

// The requestState of a 2026-07-28 multi round-trip request (MRTR). The
// client echoes it verbatim, so it is attacker-controlled: cafmcp seals it
// with HMAC-SHA256 under a server key and an expiry, and refuses a retry
// whose state was altered, forged, expired or minted for another request.

#include <chrono>
#include <string>
#include <variant>

#include <nlohmann/json.hpp>

namespace cafmcp::protocol {

class request_state_sealer {
public:
  /// `key`: the HMAC key; empty draws 32 random bytes (states then do not
  /// survive a restart, nor verify on another node).
  explicit request_state_sealer(std::string key = {}, std::chrono::milliseconds ttl = std::chrono::minutes(10));

  /// base64url(payload with expiry) "." base64url(HMAC-SHA256).
  std::string seal(const nlohmann::json& payload) const;

  /// The payload, or why the token is refused.
  std::variant<nlohmann::json, std::string> open(const std::string& token) const;

  /// HMAC-SHA256 of `data` under the same key (raw bytes): for other values
  /// bound to this node's key, such as a tenant's state handles.
  std::string mac(const std::string& data) const;

private:
  std::string key_;
  std::chrono::milliseconds ttl_;
};

} // namespace cafmcp::protocol
