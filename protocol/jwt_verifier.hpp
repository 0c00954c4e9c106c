#pragma once

// JWT access tokens (RFC 9068) for the MCP endpoint: keys from a JWKS
// document, RS256 and ES256 signatures, issuer, audience (the resource URI,
// RFC 8707), expiry with a leeway, scopes and an optional tenant claim.
// Keys and signatures are OpenSSL's EVP; JSON is nlohmann's. (Debian's
// cpp-jwt 1.4 refuses RFC 9068's `typ: at+jwt` and reads only a string
// `aud`, so it does not fit.)

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace cafmcp::protocol {

/// One verification key of a JWKS document.
struct jwk {
  std::string kid; // "": the document's only key
  std::string alg; // RS256 or ES256
  std::string pem; // SubjectPublicKeyInfo
};

/// Parses a JWKS document ({"keys": [...]}): RSA keys (n, e) as RS256 and
/// P-256 EC keys (x, y) as ES256; keys for other uses ("use": "enc") or
/// other types are skipped. Throws std::invalid_argument naming what is
/// wrong when the document is no JWKS or holds no usable key.
std::vector<jwk> parse_jwks(const std::string& text);

struct jwt_settings {
  std::string issuer;                // the `iss` every token must carry
  std::string audience;              // the `aud` it must name; "": the resource URI
  std::chrono::seconds leeway{60};   // clock skew allowed on exp and nbf
  std::string tenant_claim;          // a claim naming the tenant ("": none)
  std::vector<jwk> keys;              // from a JWKS file, read at start
  /// Keys from a JWKS URL, fetched and refreshed (used instead of `keys`).
  std::shared_ptr<class jwks_store> source;
  bool enabled() const { return !keys.empty() || source; }
};

/// What a valid token says.
struct jwt_claims {
  std::string subject;
  std::vector<std::string> scopes; // `scope` (space separated) or `scp`
  std::string tenant;
};

/// A token checked: the claims, or why it is refused (for the client and
/// the log; it never repeats the token).
struct jwt_verdict {
  std::optional<jwt_claims> claims;
  std::string error;
  bool unknown_key = false; // no key has the token's kid (a rotation?)
};

/// Verifies `token` against `cfg` at `now_s` (seconds since the epoch);
/// `audience` is the audience it must name (cfg.audience, else the resource
/// URI). The signature is checked before any claim is believed.
jwt_verdict verify_jwt(const jwt_settings& cfg, const std::vector<jwk>& keys, const std::string& token,
                       const std::string& audience, int64_t now_s);
/// The same with cfg.keys.
jwt_verdict verify_jwt(const jwt_settings& cfg, const std::string& token, const std::string& audience, int64_t now_s);

/// Whether `token` has the shape of a JWS (three base64url parts).
bool looks_like_jwt(const std::string& token);

} // namespace cafmcp::protocol
