#pragma once
// The connector: one attempt to reach a node actor at host:port, off the node actor (remote_actor blocks).

#include <chrono>
#include <cstdint>
#include <string>

#include <caf/fwd.hpp>

namespace cafmcp::cluster {

/// Spawned detached per attempt: probes the port first (so a dropped network
/// cannot block it for minutes), then connects through the middleman (TLS:
/// caf_openssl) and reports (connected_atom, host, port, handle, why) to
/// `parent` — an invalid handle and the reason when it could not connect.
void connector(caf::event_based_actor* self, caf::actor parent, std::string host, uint16_t port,
               std::chrono::milliseconds probe_timeout, bool tls);

} // namespace cafmcp::cluster
