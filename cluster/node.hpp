#pragma once

// The cluster node actor: one per node, published through CAF's io
// middleman (BASP over TCP) on the cluster port. Everything another node
// (or `cafmcp status`) says to this node goes through it: the handshake
// (cookie, and the peer's certificate bound to its name), heartbeats with gossip of the member table, status queries,
// distribute_call. It also watches the members' health and runs the
// split-brain resolver (split_brain.hpp); when this node's side loses, it
// fences the node (cluster_view) and rejoins after the network heals.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "actors/breaker_table.hpp"
#include "actors/fault_injection.hpp"
#include "actors/name_table.hpp"
#include "cluster/credentials.hpp"
#include "cluster/cluster_view.hpp"
#include "cluster/split_brain.hpp"
#include "supervision/child_spec.hpp"

namespace cafmcp::cluster {

struct cluster_config {
  bool enabled = false;
  std::string name;                 // this node's name (unique in the cluster)
  std::string host = "127.0.0.1";   // address to bind and to give to peers
  uint16_t port = 4370;             // the cluster port (CAF)
  std::vector<std::string> seeds;   // host:port of nodes to join through
  std::string cookie;               // the shared secret (loaded from cookie_file)
  std::chrono::milliseconds heartbeat{1000};
  uint32_t unhealthy_after = 3;     // missed heartbeats until a member is unhealthy
  std::chrono::milliseconds remove_after{10000}; // a down member is removed after this
  sbr_config sbr;
  bool tls = false; // BASP over TLS (caf_openssl; certificates in the actor system config)
  credentials creds; // with tls: what the handshake proves (the same files as the TLS config)
  std::vector<std::string> callable; // application actors members and admins may call by name (distribute_call)
  /// Chaos: messages from other members are dropped or delayed here, on
  /// receipt, as the active experiments say (null: never).
  std::shared_ptr<actors::fault_injection> faults;
  /// Calls relayed to another member go through its breaker ("peer:NAME",
  /// shared with the replicator's forwards and pushes; null: none).
  std::shared_ptr<actors::breaker_table> breakers;
};

/// The child spec of the node actor ("node", under cluster_sup). Its start
/// publishes the actor on cfg.host:cfg.port (a port in use is a failed start).
supervision::child_spec node_actor_spec(cluster_config cfg, std::shared_ptr<cluster_view> view,
                                        std::shared_ptr<actors::name_table> names);

} // namespace cafmcp::cluster
