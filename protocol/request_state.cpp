// The sealed requestState of a multi round-trip request.
#include "protocol/request_state.hpp"

#include <stdexcept>

#include "protocol/base64.hpp"
#include "base/crypto.hpp"

namespace cafmcp::protocol {

namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

} // namespace

request_state_sealer::request_state_sealer(std::string key, std::chrono::milliseconds ttl)
  : key_(std::move(key)), ttl_(ttl) {
  if (key_.empty())
    key_ = crypto::random_bytes(32);
}

std::string request_state_sealer::mac(const std::string& data) const {
  return crypto::hmac_sha256(key_, data);
}

std::string request_state_sealer::seal(const nlohmann::json& payload) const {
  nlohmann::json body{{"p", payload}, {"exp", now_ms() + ttl_.count()}};
  auto encoded = base64_encode(body.dump(), true);
  return encoded + "." + base64_encode(mac(encoded), true);
}

std::variant<nlohmann::json, std::string> request_state_sealer::open(const std::string& token) const {
  auto dot = token.find('.');
  if (dot == std::string::npos)
    return std::string{"requestState is malformed"};
  auto encoded = token.substr(0, dot);
  auto sig = base64_decode(token.substr(dot + 1));
  auto expected = mac(encoded);
  if (!sig || !crypto::constant_time_equal(*sig, expected))
    return std::string{"requestState failed verification (altered, or not minted by this server)"};
  auto raw = base64_decode(encoded);
  if (!raw)
    return std::string{"requestState is malformed"};
  auto body = nlohmann::json::parse(*raw, nullptr, false);
  if (!body.is_object() || !body.contains("p") || !body["exp"].is_number_integer())
    return std::string{"requestState is malformed"};
  if (body["exp"].get<int64_t>() < now_ms())
    return std::string{"requestState has expired; send the request again without it"};
  return body["p"];
}

} // namespace cafmcp::protocol
