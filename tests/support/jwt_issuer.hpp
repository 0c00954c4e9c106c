#pragma once

// A test identity provider: an RSA (RS256) and a P-256 (ES256) key made at
// start, their JWKS document, and tokens signed with either. Written with
// OpenSSL directly, not with the library the node verifies with, so a
// defect there cannot hide in both.

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

namespace cafmcp::test {

inline std::string base64url(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  auto n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                           reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  while (!out.empty() && out.back() == '=')
    out.pop_back();
  for (auto& c : out)
    c = c == '+' ? '-' : c == '/' ? '_' : c;
  return out;
}

/// Seconds since the epoch, `offset` from now.
inline int64_t epoch_s(std::chrono::seconds offset = {}) {
  return std::chrono::duration_cast<std::chrono::seconds>(
           (std::chrono::system_clock::now() + offset).time_since_epoch())
    .count();
}

class jwt_issuer {
public:
  /// `generation` prefixes the key ids ("2" → "2rsa-1"), so a rotated
  /// issuer's keys are told apart from the old ones.
  explicit jwt_issuer(std::string generation = {})
    : gen_{std::move(generation)}, rsa_{EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048})},
      ec_{EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")} {
    if (!rsa_ || !ec_)
      throw std::runtime_error("cannot make test keys");
  }

  /// The JWKS document of both keys (kid "rsa-1" and "ec-1").
  std::string jwks() const { return nlohmann::json{{"keys", jwk_list()}}.dump(); }

  /// The keys of that document, to merge with another issuer's.
  nlohmann::json jwk_list() const {
    nlohmann::json keys = nlohmann::json::array();
    keys.push_back({{"kty", "RSA"}, {"kid", gen_ + "rsa-1"}, {"use", "sig"}, {"alg", "RS256"},
                    {"n", base64url(bn_param(rsa_.get(), OSSL_PKEY_PARAM_RSA_N, 0))},
                    {"e", base64url(bn_param(rsa_.get(), OSSL_PKEY_PARAM_RSA_E, 0))}});
    keys.push_back({{"kty", "EC"}, {"kid", gen_ + "ec-1"}, {"use", "sig"}, {"crv", "P-256"},
                    {"x", base64url(bn_param(ec_.get(), OSSL_PKEY_PARAM_EC_PUB_X, 32))},
                    {"y", base64url(bn_param(ec_.get(), OSSL_PKEY_PARAM_EC_PUB_Y, 32))}});
    return keys;
  }

  /// A token with `claims`, signed RS256 (kid rsa-1) or ES256 (kid ec-1).
  /// `header_alg`/`kid` override what the header says (for forgeries).
  std::string sign(const nlohmann::json& claims, const std::string& alg = "RS256", std::string header_alg = {},
                   std::string kid = {}) const {
    if (header_alg.empty())
      header_alg = alg;
    if (kid.empty())
      kid = gen_ + (alg == "RS256" ? "rsa-1" : "ec-1");
    nlohmann::json header{{"alg", header_alg}, {"typ", "at+jwt"}, {"kid", kid}};
    return sign_raw(header.dump(), claims.dump(), alg);
  }

  /// A token of any header and payload bytes, signed with the RS256 or the
  /// ES256 key (for fuzzing what lies behind the signature check).
  std::string sign_raw(const std::string& header, const std::string& payload, const std::string& alg) const {
    auto input = base64url(header) + "." + base64url(payload);
    auto sig = alg == "RS256" ? signature(rsa_.get(), input) : es256_raw(signature(ec_.get(), input));
    return input + "." + base64url(sig);
  }

  /// Claims every valid token carries, for `audience` and `issuer`.
  static nlohmann::json claims(const std::string& issuer, const std::string& audience, const std::string& subject,
                               const std::string& scope = {}) {
    nlohmann::json c{{"iss", issuer}, {"aud", audience}, {"sub", subject}, {"iat", epoch_s()},
                     {"exp", epoch_s(std::chrono::seconds{300})}};
    if (!scope.empty())
      c["scope"] = scope;
    return c;
  }

private:
  struct pkey_free {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
  };
  std::string gen_;
  std::unique_ptr<EVP_PKEY, pkey_free> rsa_, ec_;

  static std::string bn_param(EVP_PKEY* key, const char* name, int pad) {
    BIGNUM* bn = nullptr;
    if (EVP_PKEY_get_bn_param(key, name, &bn) != 1)
      throw std::runtime_error(std::string{"no key parameter "} + name);
    std::string out(static_cast<size_t>(pad > 0 ? pad : BN_num_bytes(bn)), '\0');
    BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(out.size()));
    BN_free(bn);
    return out;
  }

  static std::string signature(EVP_PKEY* key, const std::string& input) {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(), EVP_MD_CTX_free};
    size_t len = 0;
    if (EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1
        || EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                          input.size()) != 1)
      throw std::runtime_error("cannot sign");
    std::string out(len, '\0');
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len,
                       reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1)
      throw std::runtime_error("cannot sign");
    out.resize(len);
    return out;
  }

  /// JWS wants ES256 as r and s, 32 bytes each (RFC 7518 §3.4), not DER.
  static std::string es256_raw(const std::string& der) {
    auto p = reinterpret_cast<const unsigned char*>(der.data());
    std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig{d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())),
                                                              ECDSA_SIG_free};
    if (!sig)
      throw std::runtime_error("bad ECDSA signature");
    std::string out(64, '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), reinterpret_cast<unsigned char*>(out.data()), 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), reinterpret_cast<unsigned char*>(out.data()) + 32, 32);
    return out;
  }
};

} // namespace cafmcp::test
