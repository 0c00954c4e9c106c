#pragma once

// HOST:PORT as seeds, `connect` and `cafmcp status --node` take it.

#include <cstdint>
#include <optional>
#include <string>

namespace cafmcp::cluster {

struct host_port {
  std::string host;
  uint16_t port = 0;
};

/// nullopt unless `s` is a non-empty host, ':', and a decimal port 1 … 65535.
std::optional<host_port> parse_host_port(const std::string& s);

} // namespace cafmcp::cluster
