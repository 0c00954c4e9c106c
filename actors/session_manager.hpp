#pragma once

// The session manager: MCP session records (legacy sessions, and later
// modern state handles) with a TTL, swept periodically. Tier 1: protocol
// actors keep their cross-call state here, not in the transport, because
// this is what gets replicated across the cluster.

#include <chrono>

#include "supervision/child_spec.hpp"

namespace cafmcp::actors {

struct session_config {
  std::chrono::milliseconds ttl{30 * 60 * 1000};     // default 30 min
  std::chrono::milliseconds sweep_interval{1000};    // how often expiry runs
};

/// Child spec for the session manager (id "session_manager").
supervision::child_spec session_manager_spec(session_config cfg);

/// A fresh session id: 128 random bits from OpenSSL, as 32 hex digits.
std::string make_session_id();

} // namespace cafmcp::actors
