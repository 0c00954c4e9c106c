// The cryptographic primitives (OpenSSL): SHA-256, HMAC-SHA256, hex, random bytes, constant-time compare, AES-256-GCM, scrypt.
#include "base/crypto.hpp"

#include <stdexcept>

#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

namespace cafmcp::crypto {

std::string hmac_sha256(const std::string& key, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string to_hex(const std::string& bytes) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string s;
  s.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    s += hex[c >> 4];
    s += hex[c & 0x0f];
  }
  return s;
}

std::optional<std::string> from_hex(const std::string& hex) {
  if (hex.size() % 2 != 0)
    return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9')
      return c - '0';
    if (c >= 'a' && c <= 'f')
      return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
      return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0)
      return std::nullopt;
    out += static_cast<char>((hi << 4) | lo);
  }
  return out;
}

std::string sha256_hex(const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, EVP_sha256(), nullptr);
  return to_hex(std::string(reinterpret_cast<const char*>(out), len));
}

std::string random_bytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
    throw std::runtime_error("RAND_bytes failed: no entropy");
  return out;
}

bool constant_time_equal(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string sha256(const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(out), len);
}

namespace {

constexpr size_t gcm_tag_size = 16;

struct cipher_ctx {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  ~cipher_ctx() { EVP_CIPHER_CTX_free(ctx); }
};

const unsigned char* bytes(const std::string& s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

void check_key(const std::string& key, const std::string& nonce) {
  if (key.size() != 32 || nonce.size() != 12)
    throw std::invalid_argument("AES-256-GCM takes a 32-byte key and a 12-byte nonce");
}

} // namespace

std::string aes256gcm_seal(const std::string& key, const std::string& nonce, const std::string& aad,
                           const std::string& plain) {
  check_key(key, nonce);
  cipher_ctx c;
  std::string out(plain.size() + gcm_tag_size, '\0');
  int len = 0, total = 0;
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  if (!c.ctx || EVP_EncryptInit_ex(c.ctx, EVP_aes_256_gcm(), nullptr, bytes(key), bytes(nonce)) != 1
      || EVP_EncryptUpdate(c.ctx, nullptr, &len, bytes(aad), static_cast<int>(aad.size())) != 1
      || EVP_EncryptUpdate(c.ctx, o, &len, bytes(plain), static_cast<int>(plain.size())) != 1)
    throw std::runtime_error("AES-256-GCM encryption failed");
  total = len;
  if (EVP_EncryptFinal_ex(c.ctx, o + total, &len) != 1
      || EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_GET_TAG, gcm_tag_size, o + plain.size()) != 1)
    throw std::runtime_error("AES-256-GCM encryption failed");
  return out;
}

std::optional<std::string> aes256gcm_open(const std::string& key, const std::string& nonce, const std::string& aad,
                                          const std::string& sealed) {
  check_key(key, nonce);
  if (sealed.size() < gcm_tag_size)
    return std::nullopt;
  auto n = sealed.size() - gcm_tag_size;
  cipher_ctx c;
  std::string out(n, '\0');
  int len = 0;
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  std::string tag = sealed.substr(n);
  if (!c.ctx || EVP_DecryptInit_ex(c.ctx, EVP_aes_256_gcm(), nullptr, bytes(key), bytes(nonce)) != 1
      || EVP_DecryptUpdate(c.ctx, nullptr, &len, bytes(aad), static_cast<int>(aad.size())) != 1
      || EVP_DecryptUpdate(c.ctx, o, &len, bytes(sealed), static_cast<int>(n)) != 1
      || EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_SET_TAG, gcm_tag_size, tag.data()) != 1)
    return std::nullopt;
  int last = 0;
  if (EVP_DecryptFinal_ex(c.ctx, o + len, &last) != 1)
    return std::nullopt; // the tag does not match
  return out;
}

std::string scrypt_key(const std::string& passphrase, const std::string& salt, uint64_t n, uint64_t r, uint64_t p) {
  std::string out(32, '\0');
  constexpr uint64_t max_memory = 256ull * 1024 * 1024;
  if (EVP_PBE_scrypt(passphrase.data(), passphrase.size(), bytes(salt), salt.size(), n, r, p, max_memory,
                     reinterpret_cast<unsigned char*>(out.data()), out.size())
      != 1)
    throw std::runtime_error("scrypt failed (N=" + std::to_string(n) + ", r=" + std::to_string(r)
                             + ", p=" + std::to_string(p) + ")");
  return out;
}

} // namespace cafmcp::crypto
