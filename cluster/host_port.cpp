// Parsing HOST:PORT.
#include "cluster/host_port.hpp"

namespace cafmcp::cluster {

std::optional<host_port> parse_host_port(const std::string& s) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return std::nullopt;
  auto digits = s.substr(colon + 1);
  if (digits.empty() || digits.size() > 5 || digits.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  auto port = std::stoul(digits);
  if (port == 0 || port > 65535)
    return std::nullopt;
  return host_port{s.substr(0, colon), static_cast<uint16_t>(port)};
}

} // namespace cafmcp::cluster
