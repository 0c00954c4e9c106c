// Bearer authorisation of the MCP endpoint: static tokens by hash, refusals with WWW-Authenticate, RFC 9728 metadata.
#include "protocol/bearer_auth.hpp"

#include <chrono>

#include <cctype>
#include <sstream>
#include <stdexcept>

#include "base/crypto.hpp"
#include "protocol/jwks_store.hpp"

namespace cafmcp::protocol {

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in{s};
  std::string part;
  while (std::getline(in, part, sep))
    if (!part.empty())
      out.push_back(part);
  return out;
}

/// "scheme://authority" and "/path" of a URI ("" path: none).
std::pair<std::string, std::string> split_uri(const std::string& uri) {
  auto scheme_end = uri.find("://");
  auto path_at = uri.find('/', scheme_end == std::string::npos ? 0 : scheme_end + 3);
  if (path_at == std::string::npos)
    return {uri, ""};
  return {uri.substr(0, path_at), uri.substr(path_at)};
}

} // namespace

std::pair<std::string, std::string> parse_tool_scope(const std::string& entry) {
  auto eq = entry.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == entry.size())
    throw std::invalid_argument("must be TOOL=SCOPE, got \"" + entry + "\"");
  return {entry.substr(0, eq), entry.substr(eq + 1)};
}

static_token parse_static_token(const std::string& entry) {
  static_token t;
  for (auto& word : split(entry, ' ')) {
    if (word.rfind("sha256:", 0) == 0) {
      t.sha256 = word.substr(7);
      bool hex = t.sha256.size() == 64;
      for (char c : t.sha256)
        hex = hex && std::isxdigit(static_cast<unsigned char>(c));
      if (!hex)
        throw std::invalid_argument("\"sha256:\" must be followed by the token's SHA-256 in 64 hex digits");
      for (auto& c : t.sha256)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (word.rfind("subject=", 0) == 0) {
      t.subject = word.substr(8);
    } else if (word.rfind("scopes=", 0) == 0) {
      t.scopes = split(word.substr(7), ',');
    } else if (word.rfind("tenant=", 0) == 0) {
      t.tenant = word.substr(7);
    } else {
      throw std::invalid_argument("unknown part \"" + word
                                  + "\" (expected sha256:<hex> subject=<name> [scopes=<a,b>] [tenant=<t>])");
    }
  }
  if (t.sha256.empty())
    throw std::invalid_argument("missing sha256:<hex> (make one with cafmcp token create)");
  if (t.subject.empty())
    throw std::invalid_argument("missing subject=<name>");
  return t;
}

auth_outcome authenticate(const auth_config& cfg, const std::string& authorization, const std::string& resource) {
  auth_outcome out;
  auto challenge = "Bearer resource_metadata=\"" + metadata_url(resource) + "\"";
  if (!cfg.scopes_supported.empty()) {
    std::string scopes;
    for (auto& s : cfg.scopes_supported)
      scopes += (scopes.empty() ? "" : " ") + s;
    challenge += ", scope=\"" + scopes + "\"";
  }
  const std::string bearer = "bearer ";
  std::string scheme = authorization.substr(0, bearer.size());
  for (auto& c : scheme)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (authorization.empty() || scheme != bearer) {
    // No credentials: no error code (RFC 6750 §3.1), the client starts the flow.
    out.www_authenticate = challenge;
    out.message = "this MCP server needs Authorization: Bearer <token>; see " + metadata_url(resource);
    return out;
  }
  auto token = authorization.substr(bearer.size());
  auto hash = crypto::sha256_hex(token);
  for (auto& t : cfg.static_tokens)
    if (crypto::constant_time_equal(hash, t.sha256)) {
      out.who = principal{t.subject, t.scopes, t.tenant};
      return out;
    }
  if (cfg.jwt.enabled() && looks_like_jwt(token)) {
    auto now_s = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    // Keys from a URL are the last set fetched; none before the first fetch works.
    static const std::vector<jwk> none;
    auto fetched = cfg.jwt.source ? cfg.jwt.source->keys() : nullptr;
    const auto& keys = cfg.jwt.source ? (fetched ? *fetched : none) : cfg.jwt.keys;
    auto verdict = verify_jwt(cfg.jwt, keys, token, cfg.jwt.audience.empty() ? resource : cfg.jwt.audience, now_s);
    if (!verdict.claims && verdict.unknown_key && cfg.jwt.source) {
      out.key_unknown = true;
      if (!fetched) {
        auto why = cfg.jwt.source->last_error();
        verdict.error = "the signing keys from " + cfg.jwt.source->url() + " are not available yet"
                        + (why.empty() ? std::string{} : " (" + why + ")");
      }
    }
    if (verdict.claims) {
      out.who = principal{verdict.claims->subject, verdict.claims->scopes, verdict.claims->tenant};
      return out;
    }
    // RFC 6750 §3: error_description is a quoted-string of printable ASCII without '"' or '\\'.
    std::string description;
    for (char c : verdict.error)
      if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
        description += c;
    out.www_authenticate = challenge + ", error=\"invalid_token\", error_description=\"" + description + "\"";
    out.message = "the bearer token is refused: " + verdict.error;
    return out;
  }
  out.www_authenticate = challenge + ", error=\"invalid_token\", error_description=\"unknown or revoked token\"";
  out.message = "the bearer token is unknown or revoked";
  return out;
}

std::optional<scope_refusal> find_lacking_scope(const auth_config& cfg, const principal& who,
                                                const nlohmann::json& body,
                                                const std::function<std::string(const std::string&)>& declared) {
  auto check = [&](const nlohmann::json& msg) -> std::optional<scope_refusal> {
    if (!msg.is_object() || msg.value("method", nlohmann::json{}) != "tools/call")
      return std::nullopt;
    auto params = msg.find("params");
    if (params == msg.end() || !params->is_object() || !params->contains("name") || !(*params)["name"].is_string())
      return std::nullopt;
    auto tool = (*params)["name"].get<std::string>();
    auto scope = lacking_scope(cfg, who, tool, declared(tool));
    if (scope.empty())
      return std::nullopt;
    return scope_refusal{msg.value("id", nlohmann::json{}), tool, scope,
                         "the bearer token of " + who.subject + " lacks the scope \"" + scope + "\" that tool " + tool
                           + " needs"};
  };
  if (!body.is_array())
    return check(body);
  for (auto& msg : body)
    if (auto r = check(msg))
      return r;
  return std::nullopt;
}

std::string lacking_scope(const auth_config& cfg, const principal& who, const std::string& tool,
                          const std::string& declared) {
  auto configured = cfg.tool_scopes.find(tool);
  auto& needed = configured != cfg.tool_scopes.end() ? configured->second : declared;
  if (needed.empty())
    return {};
  for (auto& s : who.scopes)
    if (s == needed)
      return {};
  return needed;
}

std::string insufficient_scope_challenge(const std::string& metadata_url, const std::string& scope) {
  return "Bearer resource_metadata=\"" + metadata_url + "\", error=\"insufficient_scope\", scope=\"" + scope + "\"";
}

std::string resource_uri(const auth_config& cfg, const std::string& host, const std::string& path) {
  return cfg.resource.empty() ? "http://" + host + path : cfg.resource;
}

std::string metadata_path(const std::string& resource) {
  auto path = split_uri(resource).second;
  return "/.well-known/oauth-protected-resource" + (path == "/" ? std::string{} : path);
}

std::string metadata_url(const std::string& resource) {
  return split_uri(resource).first + metadata_path(resource);
}

nlohmann::json protected_resource_metadata(const auth_config& cfg, const std::string& resource) {
  nlohmann::json doc{{"resource", resource}, {"bearer_methods_supported", {"header"}}};
  if (!cfg.authorization_servers.empty())
    doc["authorization_servers"] = cfg.authorization_servers;
  if (!cfg.scopes_supported.empty())
    doc["scopes_supported"] = cfg.scopes_supported;
  return doc;
}

} // namespace cafmcp::protocol
