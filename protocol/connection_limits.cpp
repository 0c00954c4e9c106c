// How many connections an HTTP server holds at once, in all and per client address.
#include "protocol/connection_limits.hpp"

namespace cafmcp::protocol {

std::optional<connection_limits::refusal> connection_limits::admit(const std::string& client) {
  if (open_ >= max_total_)
    return refusal::node_limit;
  auto& mine = per_client_[client];
  if (mine >= max_per_client_) {
    if (mine == 0)
      per_client_.erase(client);
    return refusal::client_limit;
  }
  ++mine;
  ++open_;
  return std::nullopt;
}

void connection_limits::release(const std::string& client) {
  auto i = per_client_.find(client);
  if (i == per_client_.end())
    return; // never admitted: nothing to give back
  if (--i->second == 0)
    per_client_.erase(i);
  --open_;
}

size_t connection_limits::open_from(const std::string& client) const {
  auto i = per_client_.find(client);
  return i == per_client_.end() ? 0 : i->second;
}

const char* to_string(connection_limits::refusal r) {
  return r == connection_limits::refusal::node_limit ? "node_limit" : "client_limit";
}

} // namespace cafmcp::protocol
