#pragma once

// The cryptographic primitives every part uses (OpenSSL's libcrypto):
// SHA-256 and hex, HMAC-SHA256 for sealed request states, the cookie
// handshake and the audit chain, random bytes, a constant-time comparison,
// AES-256-GCM and scrypt for encrypted backups.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace cafmcp::crypto {

/// Raw 32-byte HMAC-SHA256 of `data` under `key`.
std::string hmac_sha256(const std::string& key, const std::string& data);

/// SHA-256 of `data`, as 64 lower-case hex digits.
std::string sha256_hex(const std::string& data);

/// Lower-case hex of `bytes`.
std::string to_hex(const std::string& bytes);

/// The bytes `hex` spells (either case); nothing if it is not hex of even length.
std::optional<std::string> from_hex(const std::string& hex);

/// `n` bytes from the OpenSSL CSPRNG; throws std::runtime_error without entropy.
std::string random_bytes(size_t n);

/// Compares without leaking where the inputs differ.
bool constant_time_equal(const std::string& a, const std::string& b);

/// Raw 32-byte SHA-256 of `data`.
std::string sha256(const std::string& data);

/// AES-256-GCM: `plain` encrypted under the 32-byte `key` and the 12-byte
/// `nonce` (never reuse one under a key), `aad` authenticated but not
/// encrypted. Returns the ciphertext followed by the 16-byte tag.
std::string aes256gcm_seal(const std::string& key, const std::string& nonce, const std::string& aad,
                           const std::string& plain);
/// The plaintext, or nothing when the tag does not match (wrong key,
/// changed ciphertext, nonce or associated data).
std::optional<std::string> aes256gcm_open(const std::string& key, const std::string& nonce, const std::string& aad,
                                          const std::string& sealed);

/// A 32-byte key stretched from `passphrase` with scrypt (N, r, p as given;
/// up to 256 MiB of memory). Throws std::runtime_error on bad parameters.
std::string scrypt_key(const std::string& passphrase, const std::string& salt, uint64_t n, uint64_t r, uint64_t p);

} // namespace cafmcp::crypto
