#pragma once

// What cluster nodes (and `cafmcp status`) say to each other over CAF.
// Every type is serializable and registered on every node
// (register_types), or BASP would deliver empty messages.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>

namespace cafmcp::cluster {

// Handshake: hello → challenge, auth → welcome (docs/CLUSTER.md).
using hello_atom = caf::atom_constant<caf::atom("cl_hello")>;
using auth_atom = caf::atom_constant<caf::atom("cl_auth")>;
using heartbeat_atom = caf::atom_constant<caf::atom("cl_hb")>;
using status_atom = caf::atom_constant<caf::atom("cl_status")>;
using call_atom = caf::atom_constant<caf::atom("cl_call")>;
using leave_atom = caf::atom_constant<caf::atom("cl_leave")>;
using join_atom = caf::atom_constant<caf::atom("cl_join")>;
using tick_atom = caf::atom_constant<caf::atom("cl_tick")>;
using connected_atom = caf::atom_constant<caf::atom("cl_conned")>;
using health_atom = caf::atom_constant<caf::atom("cl_health")>;

/// Member states, in the order they are reached; a record only moves forward
/// within one incarnation (a rejoining node is a new incarnation).
enum class member_state : uint8_t { joining, up, leaving, exiting, down, removed };
const char* to_string(member_state s);

enum class health : uint8_t { healthy, degraded, unhealthy };
const char* to_string(health h);

/// A member as every node disseminates it.
struct member_info {
  std::string name;
  std::string host;
  uint16_t port = 0;
  uint64_t incarnation = 0; // start time (ms since the epoch): newer wins; lower is older
  uint8_t state = 0;        // member_state
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, member_info& x) {
  return f(caf::meta::type_name("member_info"), x.name, x.host, x.port, x.incarnation, x.state);
}

/// Sent to every member each heartbeat interval: who I am, whom I reach,
/// and my member table (gossip: tables converge).
struct heartbeat {
  std::string from;
  uint64_t incarnation = 0;
  uint64_t seq = 0;
  std::vector<std::string> reachable;   // members it hears from
  std::vector<std::string> unreachable; // members it has given up on (not: not yet connected)
  std::vector<member_info> members;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, heartbeat& x) {
  return f(caf::meta::type_name("heartbeat"), x.from, x.incarnation, x.seq, x.reachable, x.unreachable, x.members);
}

/// One row of cluster_status, as the answering node sees it.
struct status_row {
  std::string node;
  std::string address;  // host:port (cluster)
  std::string state;    // joining, up, leaving, exiting, down, removed
  std::string health;   // healthy, degraded, unhealthy
  uint32_t missed = 0;  // heartbeats missed in a row
  int64_t last_heartbeat_ms = -1; // ms since the last heartbeat (-1: never; 0 for the answering node)
  bool leader = false;
  std::string side;     // partition side: the lowest member of the side, "unreachable", "bridge", "fenced"
  bool self = false;    // the answering node
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, status_row& x) {
  return f(caf::meta::type_name("status_row"), x.node, x.address, x.state, x.health, x.missed,
           x.last_heartbeat_ms, x.leader, x.side, x.self);
}

void register_types(caf::actor_system_config& cfg);

} // namespace cafmcp::cluster
