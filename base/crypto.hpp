#pragma once

// The cryptographic primitives every part uses (OpenSSL's libcrypto):
// SHA-256 and hex, HMAC-SHA256 for sealed request states, the cookie
// handshake and the audit chain, random bytes, a constant-time comparison.

#include <cstddef>
#include <optional>
#include <string>

namespace cafmcp::crypto {

/// Raw 32-byte HMAC-SHA256 of `data` under `key`.
std::string hmac_sha256(const std::string& key, const std::string& data);

/// SHA-256 of `data`, as 64 lower-case hex digits.
std::string sha256_hex(const std::string& data);

/// Lower-case hex of `bytes`.
std::string to_hex(const std::string& bytes);

/// The bytes `hex` spells (either case); nullopt for an odd length or a
/// character that is not a hex digit.
std::optional<std::string> from_hex(const std::string& hex);

/// `n` bytes from the OpenSSL CSPRNG; throws std::runtime_error without entropy.
std::string random_bytes(size_t n);

/// Compares without leaking where the inputs differ.
bool constant_time_equal(const std::string& a, const std::string& b);

} // namespace cafmcp::crypto
