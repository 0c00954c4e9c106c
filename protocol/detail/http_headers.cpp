// HTTP header and status helpers of the Streamable HTTP transport (no Beast here: cheap to compile and test).

#include "protocol/detail/http_headers.hpp"

#include <algorithm>
#include <cctype>
#include <random>
#include <string_view>

#include "protocol/base64.hpp"
#include "protocol/json_rpc.hpp"
#include "protocol/versions.hpp"

namespace cafmcp::protocol::detail {

using nlohmann::json;

std::string lower(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

/// Decodes an `=?base64?...?=` header value (MCP 2026-07-28); other values
/// are returned as they are. Returns false for a malformed encoding.
bool decode_header_value(const std::string& in, std::string& out) {
  static const std::string prefix = "=?base64?", suffix = "?=";
  if (in.size() < prefix.size() + suffix.size() || in.compare(0, prefix.size(), prefix) != 0
      || in.compare(in.size() - suffix.size(), suffix.size(), suffix) != 0) {
    out = in;
    return true;
  }
  auto decoded = base64_decode(in.substr(prefix.size(), in.size() - prefix.size() - suffix.size()));
  if (!decoded)
    return false;
  out = std::move(*decoded);
  return true;
}

bool origin_allowed(const std::string& origin, const std::vector<std::string>& extra) {
  for (auto& o : extra)
    if (o == origin)
      return true;
  for (auto scheme : {"http://", "https://"})
    for (auto host : {"localhost", "127.0.0.1", "[::1]"}) {
      auto base = std::string{scheme} + host;
      if (origin == base || origin.rfind(base + ":", 0) == 0)
        return true;
    }
  return false;
}

bool host_allowed(const std::string& host, const std::vector<std::string>& extra) {
  if (host.empty())
    return false;
  // The name without its port ("[::1]:8080" → "[::1]", "a.b:80" → "a.b").
  auto name = host;
  if (name.front() == '[') {
    auto close = name.find(']');
    if (close == std::string::npos)
      return false;
    name = name.substr(0, close + 1);
  } else if (auto colon = name.rfind(':'); colon != std::string::npos) {
    name = name.substr(0, colon);
  }
  name = lower(name);
  for (auto local : {"localhost", "127.0.0.1", "[::1]"})
    if (name == local)
      return true;
  for (auto& e : extra)
    if (lower(e) == name || lower(e) == lower(host))
      return true;
  return false;
}

bool is_header_name(const std::string& name) {
  if (name.empty() || name.size() > 256)
    return false;
  for (unsigned char c : name)
    if (!std::isalnum(c) && std::string_view{"!#$%&'*+-.^_`|~"}.find(static_cast<char>(c)) == std::string_view::npos)
      return false;
  return true;
}

bool is_tenant_name(const std::string& name) {
  if (name.empty() || name.size() > 128)
    return false;
  for (unsigned char c : name)
    if (c <= 0x20 || c >= 0x7f)
      return false;
  return true;
}

bool is_loopback_host(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

unsigned http_status_for(const json& response, bool modern) {
  if (!response.is_object() || !response.contains("error"))
    return 200;
  auto code = response["error"].value("code", 0);
  if (code == rpc_code::parse_error || code == rpc_code::invalid_request)
    return 400;
  if (code == mcp_code::rate_limited)
    return 429;
  if (code == mcp_code::server_busy || code == mcp_code::node_fenced || code == mcp_code::unavailable)
    return 503;
  if (!modern)
    return 200; // legacy clients read JSON-RPC errors from a 200
  if (code == rpc_code::method_not_found)
    return 404;
  if (code == mcp_code::header_mismatch || code == mcp_code::missing_client_capability
      || code == mcp_code::unsupported_protocol_version || code == rpc_code::invalid_params)
    return 400;
  return 200;
}

std::string retry_after_for(const json& response) {
  if (!response.is_object() || !response.contains("error") || !response["error"].is_object())
    return "";
  auto& e = response["error"];
  auto data = e.find("data");
  if (data == e.end() || !data->is_object() || !data->contains("retryAfterMs") || !(*data)["retryAfterMs"].is_number())
    return "";
  // Whole seconds (RFC 9110), rounded up and at least 1: never retry early.
  auto ms = (*data)["retryAfterMs"].get<int64_t>();
  return std::to_string(std::max<int64_t>(1, (ms + 999) / 1000));
}

/// The request's correlation id: `given` when it is 1 … 128 characters of
/// [A-Za-z0-9._:-], else a fresh UUIDv4.
std::string correlation_for(const std::string& given) {
  bool ok = !given.empty() && given.size() <= 128;
  for (char c : given)
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == ':');
  if (ok)
    return given;
  // A UUIDv4 from a per-thread generator: it names log lines, it guards
  // nothing, so it needs no system randomness per request (that cost a
  // getpid and RAND_bytes, 5 % of an echo call).
  thread_local std::mt19937_64 gen{std::random_device{}()};
  uint64_t hi = gen(), lo = gen();
  hi = (hi & ~uint64_t{0xf000}) | 0x4000;                     // version 4
  lo = (lo & ~(uint64_t{0xc} << 60)) | (uint64_t{0x8} << 60); // variant 10
  static const char digits[] = "0123456789abcdef";
  std::string id(36, '-');
  size_t at = 0;
  for (int i = 0; i < 32; ++i) {
    if (at == 8 || at == 13 || at == 18 || at == 23)
      ++at;
    uint64_t word = i < 16 ? hi : lo;
    id[at++] = digits[(word >> (60 - 4 * (i % 16))) & 0xf];
  }
  return id;
}

std::string header_mismatch(const json& body, const std::function<std::string(const char*)>& header) {
  auto version = header("mcp-protocol-version");
  // Looked up step by step: any body may come here (the fuzzer's do), and a
  // const operator[] on a missing key is undefined behaviour.
  json body_version;
  if (body.is_object())
    if (auto p = body.find("params"); p != body.end() && p->is_object())
      if (auto m = p->find("_meta"); m != p->end() && m->is_object())
        if (auto v = m->find(meta_key::protocol_version); v != m->end())
          body_version = *v;
  if (version.empty())
    return "missing MCP-Protocol-Version header";
  if (!body_version.is_string() || version != body_version.get<std::string>())
    return "MCP-Protocol-Version header value '" + version + "' does not match body value "
           + dump(body_version);
  if (!body.contains("method"))
    return "";
  auto method = body["method"].is_string() ? body["method"].get<std::string>() : std::string{};
  auto raw_method = header("mcp-method");
  std::string header_method;
  if (raw_method.empty())
    return "missing Mcp-Method header";
  if (!decode_header_value(raw_method, header_method) || header_method != method)
    return "Mcp-Method header value '" + raw_method + "' does not match body value '" + method + "'";
  const char* name_key = method == "tools/call" || method == "prompts/get" ? "name"
                         : method == "resources/read"                       ? "uri"
                         : method == "tasks/get" || method == "tasks/update" || method == "tasks/cancel"
                           ? "taskId"
                           : nullptr;
  if (!name_key)
    return "";
  auto raw_name = header("mcp-name");
  if (raw_name.empty())
    return "missing Mcp-Name header";
  auto& params = body["params"];
  auto body_name = params.contains(name_key) && params[name_key].is_string()
                     ? params[name_key].get<std::string>()
                     : std::string{};
  std::string header_name;
  if (!decode_header_value(raw_name, header_name) || header_name != body_name)
    return "Mcp-Name header value '" + raw_name + "' does not match body value '" + body_name + "'";
  return "";
}

std::string missing_modern_meta(const nlohmann::json& body) {
  const std::string version_key = std::string{"params._meta[\""} + meta_key::protocol_version + "\"]";
  if (!body.is_object())
    return "the body is not a JSON-RPC request object";
  auto p = body.find("params");
  if (p == body.end() || !p->is_object())
    return "params (with params._meta) is missing";
  auto m = p->find("_meta");
  if (m == p->end())
    return "params._meta is missing";
  if (!m->is_object())
    return "params._meta is not an object";
  if (!m->contains(meta_key::protocol_version))
    return version_key + " is missing";
  return {};
}

} // namespace cafmcp::protocol::detail
