#pragma once

// The cluster cookie: a shared secret every node of a cluster holds, as in
// Erlang. It never crosses the wire; nodes prove they know it with
// HMAC-SHA256 over fresh nonces.

#include <string>

namespace cafmcp::cluster {

/// $HOME/.cafmcp.cookie (like Erlang's ~/.erlang.cookie).
std::string default_cookie_path();

/// Reads the cookie from `path`. If the file does not exist and `create`
/// is set, writes a new random one (mode 0400) first. Throws
/// std::runtime_error naming the file when it cannot be read, is empty, or
/// is readable by group or others.
std::string load_cookie(const std::string& path, bool create);

/// The proof that the sender knows the cookie: hex HMAC-SHA256 over
/// role | name | nonce.
std::string cookie_proof(const std::string& cookie, const std::string& role, const std::string& name,
                         const std::string& nonce);

} // namespace cafmcp::cluster
