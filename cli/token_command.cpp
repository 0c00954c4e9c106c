// `cafmcp token create`: a static API token for mcp.auth and its config entry (the hash only).
#include "cli/token_command.hpp"

#include <iostream>

#include <nlohmann/json.hpp>

#include "base/crypto.hpp"
#include "protocol/base64.hpp"
#include "protocol/bearer_auth.hpp"

namespace cafmcp::cli {

int run_token_create(const token_options& opts) {
  auto token = protocol::base64_encode(crypto::random_bytes(32), true);
  while (!token.empty() && token.back() == '=')
    token.pop_back();
  std::string entry = "sha256:" + crypto::sha256_hex(token) + " subject=" + opts.subject;
  if (!opts.scopes.empty())
    entry += " scopes=" + opts.scopes;
  if (!opts.tenant.empty())
    entry += " tenant=" + opts.tenant;
  try {
    protocol::parse_static_token(entry); // the same check the node makes
  } catch (const std::invalid_argument& e) {
    std::cerr << "cafmcp token create: " << e.what() << '\n';
    return 2;
  }
  std::cout << "token (give it to the client; it is shown only now):\n  " << token << "\n"
            << "config entry (mcp.auth.static_tokens; holds only the hash):\n  "
            << nlohmann::json(entry).dump() << '\n';
  return 0;
}

} // namespace cafmcp::cli
