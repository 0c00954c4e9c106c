#include "protocol/request_state.hpp"

#include <stdexcept>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "protocol/base64.hpp"

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
  if (key_.empty()) {
    key_.resize(32);
    if (RAND_bytes(reinterpret_cast<unsigned char*>(key_.data()), static_cast<int>(key_.size())) != 1)
      throw std::runtime_error("RAND_bytes failed: no entropy for the requestState key");
  }
}

std::string request_state_sealer::mac(const std::string& data) const {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
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
  if (!sig || sig->size() != expected.size() || CRYPTO_memcmp(sig->data(), expected.data(), expected.size()) != 0)
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

std::string sha256_hex(const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, EVP_sha256(), nullptr);
  static constexpr char hex[] = "0123456789abcdef";
  std::string s;
  for (unsigned i = 0; i < len; ++i) {
    s += hex[out[i] >> 4];
    s += hex[out[i] & 0x0f];
  }
  return s;
}

} // namespace cafmcp::protocol
