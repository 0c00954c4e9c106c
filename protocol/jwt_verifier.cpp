#include "protocol/jwt_verifier.hpp"

#include "base/openssl_ptr.hpp"

#include <algorithm>
#include <cctype>
#include <memory>
#include <stdexcept>

#include <nlohmann/json.hpp>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

namespace cafmcp::protocol {

namespace {

using json = nlohmann::json;

/// The string member `name` of `obj`, `fallback` when absent; nullopt when
/// it is there but not a string (json::value would throw: never let a
/// client's or a provider's JSON throw past the checks).
std::optional<std::string> string_member(const json& obj, const char* name, std::string fallback = {}) {
  auto i = obj.find(name);
  if (i == obj.end())
    return fallback;
  if (!i->is_string())
    return std::nullopt;
  return i->get<std::string>();
}

/// The same in a JWKS key: not a string is an unusable document.
std::string key_member(const json& key, const char* name, const std::string& where, std::string fallback = {}) {
  auto v = string_member(key, name, std::move(fallback));
  if (!v)
    throw std::invalid_argument(where + ": \"" + name + "\" is not a string");
  return *v;
}


/// Decodes base64url without padding (RFC 7515 §2); "" if it is not.
std::string b64url_decode(std::string s) {
  for (auto& c : s) {
    if (c == '-')
      c = '+';
    else if (c == '_')
      c = '/';
    else if (!std::isalnum(static_cast<unsigned char>(c)))
      return {};
  }
  if (s.size() % 4 == 1)
    return {};
  auto pad = (4 - s.size() % 4) % 4;
  s.append(pad, '=');
  std::string out(s.size() / 4 * 3, '\0');
  auto n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(s.data()),
                           static_cast<int>(s.size()));
  if (n < 0)
    return {};
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

using ossl::bio_ptr;
using ossl::bn_ptr;
using ossl::md_ctx_ptr;
using ossl::pkey_ptr;
using bld_ptr = ossl::ptr<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>;
using params_ptr = ossl::ptr<OSSL_PARAM, OSSL_PARAM_free>;
using ctx_ptr = ossl::ptr<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using ec_sig_ptr = ossl::ptr<ECDSA_SIG, ECDSA_SIG_free>;

/// A JWK member that must be a non-empty base64url string, decoded.
std::string member_bytes(const json& key, const char* name, const std::string& where) {
  auto i = key.find(name);
  if (i == key.end() || !i->is_string() || i->get<std::string>().empty())
    throw std::invalid_argument(where + " has no \"" + name + "\"");
  auto bytes = b64url_decode(i->get<std::string>());
  if (bytes.empty())
    throw std::invalid_argument(where + ": \"" + name + "\" is not base64url");
  return bytes;
}

/// The PEM (SubjectPublicKeyInfo) of a key made from OSSL params.
std::string pem_of(const char* type, OSSL_PARAM_BLD* bld, const std::string& where) {
  params_ptr params{OSSL_PARAM_BLD_to_param(bld)};
  ctx_ptr ctx{EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr)};
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0
      || EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) <= 0)
    throw std::invalid_argument(where + " is not a valid " + type + " public key");
  pkey_ptr key{raw};
  bio_ptr bio{BIO_new(BIO_s_mem())};
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key.get()) != 1)
    throw std::invalid_argument(where + ": cannot encode the key");
  char* data = nullptr;
  auto len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string rsa_pem(const json& key, const std::string& where) {
  auto n = member_bytes(key, "n", where);
  auto e = member_bytes(key, "e", where);
  bn_ptr bn_n{BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()), static_cast<int>(n.size()), nullptr)};
  bn_ptr bn_e{BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()), static_cast<int>(e.size()), nullptr)};
  bld_ptr bld{OSSL_PARAM_BLD_new()};
  if (!bn_n || !bn_e || !bld || !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get())
      || !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()))
    throw std::invalid_argument(where + " is not a valid RSA public key");
  if (n.size() < 256)
    throw std::invalid_argument(where + ": RSA keys under 2048 bits are refused");
  return pem_of("RSA", bld.get(), where);
}

std::string ec_pem(const json& key, const std::string& where) {
  if (key_member(key, "crv", where) != "P-256")
    throw std::invalid_argument(where + ": only the P-256 curve (ES256) is supported");
  auto x = member_bytes(key, "x", where);
  auto y = member_bytes(key, "y", where);
  if (x.size() != 32 || y.size() != 32)
    throw std::invalid_argument(where + ": x and y must be 32 bytes each for P-256");
  auto point = std::string(1, '\x04') + x + y; // uncompressed
  bld_ptr bld{OSSL_PARAM_BLD_new()};
  static char group[] = "prime256v1";
  if (!bld || !OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0)
      || !OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()))
    throw std::invalid_argument(where + " is not a valid EC public key");
  return pem_of("EC", bld.get(), where);
}

std::vector<std::string> split_dots(const std::string& token) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t i = 0; i <= token.size(); ++i)
    if (i == token.size() || token[i] == '.') {
      parts.push_back(token.substr(start, i - start));
      start = i + 1;
    }
  return parts;
}

bool audience_matches(const json& aud, const std::string& want) {
  if (aud.is_string())
    return aud.get<std::string>() == want;
  if (aud.is_array())
    for (auto& a : aud)
      if (a.is_string() && a.get<std::string>() == want)
        return true;
  return false;
}

std::vector<std::string> scopes_of(const json& payload) {
  std::vector<std::string> out;
  auto add_words = [&out](const std::string& s) {
    size_t start = 0;
    while (start < s.size()) {
      auto end = s.find(' ', start);
      if (end == std::string::npos)
        end = s.size();
      if (end > start)
        out.push_back(s.substr(start, end - start));
      start = end + 1;
    }
  };
  // RFC 9068 §2.2.3: `scope`, space separated; some issuers use `scp`.
  for (auto name : {"scope", "scp"}) {
    auto i = payload.find(name);
    if (i == payload.end())
      continue;
    if (i->is_string())
      add_words(i->get<std::string>());
    else if (i->is_array())
      for (auto& s : *i)
        if (s.is_string())
          out.push_back(s.get<std::string>());
  }
  return out;
}

/// Whether `sig` signs `input` under `key` (RS256: PKCS #1 v1.5 with SHA-256;
/// ES256: ECDSA P-256 with SHA-256, r and s of 32 bytes each, RFC 7518 §3.4).
bool signature_verifies(const jwk& key, const std::string& input, const std::string& sig) {
  bio_ptr bio{BIO_new_mem_buf(key.pem.data(), static_cast<int>(key.pem.size()))};
  pkey_ptr pkey{bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr};
  if (!pkey)
    return false;
  std::string der = sig;
  if (key.alg == "ES256") {
    if (sig.size() != 64)
      return false;
    auto bytes = reinterpret_cast<const unsigned char*>(sig.data());
    ec_sig_ptr ec{ECDSA_SIG_new()};
    BIGNUM* r = BN_bin2bn(bytes, 32, nullptr);
    BIGNUM* s = BN_bin2bn(bytes + 32, 32, nullptr);
    if (!ec || !r || !s || ECDSA_SIG_set0(ec.get(), r, s) != 1) {
      BN_free(r);
      BN_free(s);
      return false;
    }
    auto len = i2d_ECDSA_SIG(ec.get(), nullptr);
    if (len <= 0)
      return false;
    der.assign(static_cast<size_t>(len), '\0');
    auto p = reinterpret_cast<unsigned char*>(der.data());
    i2d_ECDSA_SIG(ec.get(), &p);
  }
  md_ctx_ptr ctx{EVP_MD_CTX_new()};
  return ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, pkey.get()) == 1
         && EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(der.data()), der.size(),
                             reinterpret_cast<const unsigned char*>(input.data()), input.size())
              == 1;
}

/// A NumericDate claim (RFC 7519 §2), if present and a number; one beyond
/// ±2^62 s is taken as that bound (casting it would be undefined; found by
/// jwt_fuzzer).
std::optional<int64_t> date_of(const json& payload, const char* name) {
  auto i = payload.find(name);
  if (i == payload.end() || !i->is_number())
    return std::nullopt;
  constexpr double bound = 4611686018427387904.0; // 2^62
  return static_cast<int64_t>(std::clamp(i->get<double>(), -bound, bound));
}

jwt_verdict refuse(std::string why) {
  return jwt_verdict{std::nullopt, std::move(why)};
}

} // namespace

std::vector<jwk> parse_jwks(const std::string& text) {
  auto doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("keys") || !doc["keys"].is_array())
    throw std::invalid_argument("not a JWKS document (a JSON object with a \"keys\" array)");
  std::vector<jwk> out;
  for (size_t i = 0; i < doc["keys"].size(); ++i) {
    auto& key = doc["keys"][i];
    auto where = "keys[" + std::to_string(i) + "]";
    if (!key.is_object())
      throw std::invalid_argument(where + " is not an object");
    if (key_member(key, "use", where, "sig") != "sig")
      continue; // an encryption key
    auto kty = key_member(key, "kty", where);
    auto alg = key_member(key, "alg", where);
    jwk k;
    k.kid = key_member(key, "kid", where);
    if (kty == "RSA" && (alg.empty() || alg == "RS256")) {
      k.alg = "RS256";
      k.pem = rsa_pem(key, where);
    } else if (kty == "EC" && (alg.empty() || alg == "ES256")) {
      k.alg = "ES256";
      k.pem = ec_pem(key, where);
    } else {
      continue; // another type or algorithm: not ours to use
    }
    out.push_back(std::move(k));
  }
  if (out.empty())
    throw std::invalid_argument("holds no RS256 (RSA) or ES256 (P-256) signing key");
  return out;
}

bool looks_like_jwt(const std::string& token) {
  auto parts = split_dots(token);
  return parts.size() == 3 && !parts[0].empty() && !parts[1].empty() && !parts[2].empty();
}

jwt_verdict verify_jwt(const jwt_settings& cfg, const std::string& token, const std::string& audience,
                       int64_t now_s) {
  return verify_jwt(cfg, cfg.keys, token, audience, now_s);
}

jwt_verdict verify_jwt(const jwt_settings& cfg, const std::vector<jwk>& keys, const std::string& token,
                       const std::string& audience, int64_t now_s) {
  auto parts = split_dots(token);
  if (parts.size() != 3)
    return refuse("the token is not a JWT (three base64url parts)");
  auto header = json::parse(b64url_decode(parts[0]), nullptr, false);
  if (!header.is_object() || !header.contains("alg") || !header["alg"].is_string())
    return refuse("the token's header is not a JSON object with \"alg\"");
  if (auto typ = header.find("typ"); typ != header.end()) {
    auto t = typ->is_string() ? typ->get<std::string>() : std::string{};
    for (auto& c : t)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (t != "jwt" && t != "at+jwt" && t != "application/at+jwt")
      return refuse("the token's type is not JWT or at+jwt");
  }
  auto alg = header["alg"].get<std::string>();
  auto named = string_member(header, "kid");
  if (!named)
    return refuse("the token's kid is not a string");
  auto kid = *named;
  // The key is chosen by kid (the only key when the token names none), and
  // its algorithm is the key's, never the one the token asks for.
  const jwk* key = nullptr;
  for (auto& k : keys)
    if (k.kid == kid || (kid.empty() && keys.size() == 1))
      key = &k;
  if (!key) {
    auto out = refuse("no key with kid \"" + kid + "\" in the JWKS");
    out.unknown_key = true;
    return out;
  }
  if (alg != key->alg)
    return refuse("the token is signed with " + alg + "; its key is for " + key->alg);
  auto sig = b64url_decode(parts[2]);
  if (sig.empty() || !signature_verifies(*key, parts[0] + "." + parts[1], sig))
    return refuse("the token's signature does not verify");
  // Signed by the provider: now its claims count.
  auto payload = json::parse(b64url_decode(parts[1]), nullptr, false);
  if (!payload.is_object())
    return refuse("the token's payload is not a JSON object");
  auto leeway = static_cast<int64_t>(cfg.leeway.count());
  auto exp = date_of(payload, "exp");
  if (!exp)
    return refuse("the token has no expiry (exp)");
  if (now_s > *exp + leeway)
    return refuse("the token has expired");
  if (auto nbf = date_of(payload, "nbf"); nbf && now_s + leeway < *nbf)
    return refuse("the token is not valid yet (nbf)");
  if (!payload.contains("iss") || !payload["iss"].is_string() || payload["iss"].get<std::string>() != cfg.issuer)
    return refuse("the token's issuer is not " + cfg.issuer);
  if (!payload.contains("aud") || !audience_matches(payload["aud"], audience))
    return refuse("the token's audience is not " + audience);
  if (!payload.contains("sub") || !payload["sub"].is_string() || payload["sub"].get<std::string>().empty())
    return refuse("the token has no subject (sub)");
  jwt_claims c;
  c.subject = payload["sub"].get<std::string>();
  c.scopes = scopes_of(payload);
  if (!cfg.tenant_claim.empty()) {
    auto t = payload.find(cfg.tenant_claim);
    if (t == payload.end() || !t->is_string() || t->get<std::string>().empty())
      return refuse("the token has no tenant (" + cfg.tenant_claim + ")");
    c.tenant = t->get<std::string>();
  }
  return jwt_verdict{std::move(c), {}};
}

} // namespace cafmcp::protocol
