// Base64 and its URL-safe variant.
#include "protocol/base64.hpp"

namespace cafmcp::protocol {

std::string base64_encode(std::string_view bytes, bool url_safe) {
  const char* alphabet = url_safe ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                                  : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  unsigned val = 0;
  int bits = -6;
  for (unsigned char c : bytes) {
    val = (val << 8) | c;
    bits += 8;
    while (bits >= 0) {
      out += alphabet[(val >> bits) & 0x3F];
      bits -= 6;
    }
  }
  if (bits > -6)
    out += alphabet[((val << 8) >> (bits + 8)) & 0x3F];
  if (!url_safe)
    while (out.size() % 4 != 0)
      out += '=';
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  std::string out;
  unsigned val = 0;
  int bits = -8;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+' || c == '-') v = 62;
    else if (c == '/' || c == '_') v = 63;
    else if (c == '=') break;
    else return std::nullopt;
    val = (val << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 0) {
      out += static_cast<char>((val >> bits) & 0xFF);
      bits -= 8;
    }
  }
  return out;
}

} // namespace cafmcp::protocol
