#pragma once

// Whether something accepts TCP connections at host:port, within a timeout.
// CAF 0.17's remote_actor has no timeout (a dropped network blocks it for
// minutes), so cafmcp probes first.

#include <chrono>
#include <cstdint>
#include <string>

namespace cafmcp::cluster {

bool tcp_probe(const std::string& host, uint16_t port, std::chrono::milliseconds timeout);

} // namespace cafmcp::cluster
