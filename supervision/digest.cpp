#include "supervision/digest.hpp"

#include <openssl/evp.h>

namespace cafmcp::supervision {

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

std::string sha256_hex(const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, EVP_sha256(), nullptr);
  return to_hex(std::string(reinterpret_cast<const char*>(out), len));
}

} // namespace cafmcp::supervision
