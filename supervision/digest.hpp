#pragma once

// SHA-256 and hex, the base every part hashes with (OpenSSL's libcrypto).

#include <string>

namespace cafmcp::supervision {

/// Lower-case hex of `bytes`.
std::string to_hex(const std::string& bytes);

/// SHA-256 of `data`, as 64 lower-case hex digits.
std::string sha256_hex(const std::string& data);

} // namespace cafmcp::supervision
