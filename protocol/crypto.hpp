#pragma once

// The few cryptographic primitives cafmcp needs (OpenSSL underneath):
// HMAC-SHA256 for sealed request states and the cluster cookie handshake,
// SHA-256, random bytes, and a constant-time comparison.

#include <string>

namespace cafmcp::protocol {

/// Raw 32-byte HMAC-SHA256 of `data` under `key`.
std::string hmac_sha256(const std::string& key, const std::string& data);

/// Hex SHA-256 of `data`.
std::string sha256_hex(const std::string& data);

/// Lower-case hex of `bytes`.
std::string to_hex(const std::string& bytes);

/// `n` bytes from the OpenSSL CSPRNG; throws std::runtime_error without entropy.
std::string random_bytes(size_t n);

/// Compares without leaking where the inputs differ.
bool constant_time_equal(const std::string& a, const std::string& b);

} // namespace cafmcp::protocol
