#pragma once

// `cafmcp token create --subject NAME [--scopes a,b] [--tenant T]`: a static
// API token for mcp.auth, and the config entry that holds only its hash.

#include <string>

namespace cafmcp::cli {

struct token_options {
  std::string subject;
  std::string scopes; // comma-separated
  std::string tenant;
};

/// Prints a fresh token (give it to the client; it is not stored anywhere)
/// and the mcp.auth.static_tokens entry for the config. 0, or 2 on bad input.
int run_token_create(const token_options& opts);

} // namespace cafmcp::cli
