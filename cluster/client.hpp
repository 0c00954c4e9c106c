#pragma once

// The programmatic cluster API, usable from any thread with an actor
// system (the CLI, tests, a server author's code). Every call is bounded
// by its timeout and answers a clear error instead of hanging.

#include <chrono>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/message.hpp>

#include "cluster/credentials.hpp"
#include "cluster/messages.hpp"

namespace cafmcp::cluster {

/// Connects to the node actor at host:port and proves the cookie and, with
/// `creds`, our certificate (as a client: the caller does not become a
/// member; the node audits what we change under the certificate's subject
/// and allows what its role allows). The node proves its certificate too.
/// Errors: no_node (nothing answers, or TLS refused), wrong_cookie,
/// bad_certificate, timeout. With credentials, the system must have been
/// configured with configure_transport and the same files.
caf::expected<caf::actor> attach(caf::actor_system& sys, const std::string& host, uint16_t port,
                                 const std::string& cookie, std::chrono::milliseconds timeout,
                                 const credentials& creds = {});

/// Loads the middleman (and, for TLS, caf_openssl with the files) into a
/// CAF config, with the BASP heartbeat every node must share.
void configure_transport(caf::actor_system_config& cfg, const tls_files& tls);

/// cluster_status(): one row per member, as `node` sees them.
caf::expected<std::vector<status_row>> cluster_status(caf::actor_system& sys, const caf::actor& node,
                                                      std::chrono::milliseconds timeout);

/// healthy, degraded or unhealthy, as `node` sees member `name`.
caf::expected<std::string> get_node_health(caf::actor_system& sys, const caf::actor& node, const std::string& name,
                                           std::chrono::milliseconds timeout);

/// Sends `msg` to the actor registered as `actor_name` on member
/// `target`, through `node`, and returns its answer; errc::timeout names
/// the target and the time waited.
caf::expected<caf::message> distribute_call(caf::actor_system& sys, const caf::actor& node, const std::string& target,
                                            const std::string& actor_name, caf::message msg,
                                            std::chrono::milliseconds timeout);

/// connect(nodes): asks `node` to join the members at these HOST:PORTs.
caf::error connect(caf::actor_system& sys, const caf::actor& node, const std::vector<std::string>& nodes,
                   std::chrono::milliseconds timeout);

/// Graceful leave of `node` (answers once the others were told).
caf::error leave(caf::actor_system& sys, const caf::actor& node, std::chrono::milliseconds timeout);

} // namespace cafmcp::cluster
