#pragma once

// Base64 (RFC 4648 §4) and its URL-safe variant (§5, no padding).

#include <optional>
#include <string>
#include <string_view>

namespace cafmcp::protocol {

std::string base64_encode(std::string_view bytes, bool url_safe = false);

/// The decoded bytes, or nullopt for a character outside the alphabet.
/// Accepts both alphabets, with or without padding.
std::optional<std::string> base64_decode(std::string_view text);

} // namespace cafmcp::protocol
