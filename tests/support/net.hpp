#pragma once

// Free TCP ports on 127.0.0.1 for tests that must name a port up front (a
// cluster node's port goes into its peers' seed lists).

#include <cstdint>

namespace cafmcp::test {

/// A port the kernel just handed out for 127.0.0.1 (bound to 0, then released).
uint16_t free_port();

/// The first of `count` consecutive free ports (0 if none found after a
/// bounded search).
int free_port_range(int count);

} // namespace cafmcp::test
