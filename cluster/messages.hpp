#pragma once

// What cluster nodes (and `cafmcp status`) say to each other over CAF.
// Every type is serializable and registered on every node
// (register_types), or BASP would deliver empty messages.

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include <caf/actor.hpp>

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>

#include "base/trace.hpp"
#include "cluster/forwarding.hpp"

namespace cafmcp::cluster {

// Handshake: hello → challenge, auth → welcome (docs/CLUSTER.md).
using hello_atom = caf::atom_constant<caf::atom("cl_hello")>;
using auth_atom = caf::atom_constant<caf::atom("cl_auth")>;
using heartbeat_atom = caf::atom_constant<caf::atom("cl_hb")>;
using heartbeat_ack_atom = caf::atom_constant<caf::atom("cl_hback")>; // (from, sent_ns): a heartbeat's echo
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

/// One step of the handshake's proof of identity: a certificate and its
/// key's signature over a statement naming the step (credentials.hpp).
/// Empty on a cluster.insecure node (cookie only).
struct credential {
  std::string certificate; // PEM
  std::string signature;   // hex
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, credential& x) {
  return f(caf::meta::type_name("credential"), x.certificate, x.signature);
}

/// On whose behalf a member relays a call: the verified subject of the
/// operator's client certificate and its role (admin, viewer), or the
/// member itself (role "node").
struct caller {
  std::string subject;
  std::string role;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, caller& x) {
  return f(caf::meta::type_name("caller"), x.subject, x.role);
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
  int64_t sent_ns = 0; // the sender's clock: echoed back (heartbeat_ack_atom) to time the round trip
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, heartbeat& x) {
  return f(caf::meta::type_name("heartbeat"), x.from, x.incarnation, x.seq, x.reachable, x.unreachable, x.members,
           x.sent_ns);
}

/// One row of cluster_status, as the answering node sees it.
struct status_row {
  std::string node;
  std::string address;  // host:port (cluster)
  std::string state;    // joining, up, leaving, exiting, down, removed
  std::string health;   // healthy, degraded, unhealthy
  uint32_t missed = 0;  // heartbeats missed in a row
  int64_t last_heartbeat_ms = -1; // ms since the last heartbeat (-1: never; 0 for the answering node)
  int64_t rtt_us = -1;            // the last heartbeat round trip (-1: none while reachable)
  bool leader = false;
  std::string side;     // partition side: the lowest member of the side, "unreachable", "bridge", "fenced"
  bool self = false;    // the answering node
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, status_row& x) {
  return f(caf::meta::type_name("status_row"), x.node, x.address, x.state, x.health, x.missed,
           x.last_heartbeat_ms, x.rtt_us, x.leader, x.side, x.self);
}

// -- replication (replicator.hpp) ------------------------------------------------
// To the local node actor:
//   (repl_members_atom)                   -> vector<member_handle>  (placement members)
// Between replicators (through the peers' node actors, call_atom):
//   (repl_route_atom, session_op)         -> session_op_result      (served by the primary)
//   (repl_apply_atom, vector<record_delta>, bool primary_write) -> ok (a backup merges)
//   (repl_pull_atom, vector<string> ids)  -> vector<record_delta>   (what a replica holds of them)
//   (repl_sync_atom, member, record_digest) -> vector<record_delta> (catch-up: what member should hold
//                                            and has older than the digest says, or not at all)
//   (repl_drain_atom, from, to, bool all) -> ok   (all: tell every member first)
//   (repl_handoff_atom)                   -> uint64_t               (records handed over)
//   (repl_status_atom)                    -> replication_status
// The session API's cluster operations (served by the record's primary):
//   (repl_migrate_atom, id, to)           -> session_record  (migrate_session: `to` leads it from now on)
//   (repl_backup_atom, id)                -> session_record  (backup_session: every replica holds it now)
// Routing rules shared by the members (route_sync.hpp), each member's "routing":
//   (routes_get_atom)                        -> string  the version it applies: {"version", "routes"[, "upstreams"][, "tenants"]}
//   (routes_look_atom)                       -> string  the same, after it looked for a newer one
//   (routes_add_atom, id, rule JSON, replace) -> string  the new version, written to the cluster
//   (routes_remove_atom, id)                 -> string  the same
using routes_get_atom = caf::atom_constant<caf::atom("rt_get")>;
using routes_look_atom = caf::atom_constant<caf::atom("rt_look")>;
using routes_add_atom = caf::atom_constant<caf::atom("rt_add")>;
using routes_remove_atom = caf::atom_constant<caf::atom("rt_del")>;
//   (upstreams_add_atom, name, entry JSON, replace) -> string  the new version (its "upstreams" every member runs)
//   (upstreams_remove_atom, name)                   -> string  the same
using upstreams_add_atom = caf::atom_constant<caf::atom("rt_upadd")>;
using upstreams_remove_atom = caf::atom_constant<caf::atom("rt_updel")>;
//   (tenants_add_atom, name, entry JSON, replace)   -> string  the new version (its "tenants" every member applies)
//   (tenants_remove_atom, name)                     -> string  the same
using tenants_add_atom = caf::atom_constant<caf::atom("rt_tnadd")>;
using tenants_remove_atom = caf::atom_constant<caf::atom("rt_tndel")>;
using repl_members_atom = caf::atom_constant<caf::atom("rp_members")>;
using repl_route_atom = caf::atom_constant<caf::atom("rp_route")>;
using repl_apply_atom = caf::atom_constant<caf::atom("rp_apply")>;
using repl_pull_atom = caf::atom_constant<caf::atom("rp_pull")>;
using repl_sync_atom = caf::atom_constant<caf::atom("rp_sync")>;
using repl_drain_atom = caf::atom_constant<caf::atom("rp_drain")>;
using repl_handoff_atom = caf::atom_constant<caf::atom("rp_handoff")>;
using repl_status_atom = caf::atom_constant<caf::atom("rp_status")>;
using repl_migrate_atom = caf::atom_constant<caf::atom("rp_migrate")>;
using repl_backup_atom = caf::atom_constant<caf::atom("rp_backup")>;
// Backups (`cafmcp backup`, backup_job.hpp), from an operator (admin) or a member:
//   (repl_clock_atom)                            -> hlc_stamp  (this member's clock now, not advanced)
//   (repl_cut_atom, id, hlc_stamp at, note)      -> ok         (keep every record as of `at`; refused once
//                                                               the clock passed it, or while another cut runs)
//   (repl_cut_list_atom, id)                     -> cut_part   (once the clock passed the cut: the records
//                                                               this member leads that were live then)
//   (repl_cut_page_atom, id, uint64 from, uint32 max) -> vector<record_delta> (those records, as of the cut)
//   (repl_cut_end_atom, id)                      -> cut_part   (ends it; the layout now, to compare)
// Restores:
//   (repl_restore_atom, note)                    -> vector<string> (the members records go to; audited)
//   (repl_restore_batch_atom, vector<record_delta>, bool overwrite) -> uint64 (held by every replica)
// and between replicators (repl_apply_atom, records, false, true): restored
// copies, taken however old they are (no tombstone_ttl refusal).
using repl_clock_atom = caf::atom_constant<caf::atom("rp_clock")>;
using repl_cut_atom = caf::atom_constant<caf::atom("rp_cut")>;
using repl_cut_list_atom = caf::atom_constant<caf::atom("rp_cutls")>;
using repl_cut_page_atom = caf::atom_constant<caf::atom("rp_cutpg")>;
using repl_cut_end_atom = caf::atom_constant<caf::atom("rp_cutend")>;
using repl_restore_atom = caf::atom_constant<caf::atom("rp_rstr")>;
using repl_restore_batch_atom = caf::atom_constant<caf::atom("rp_rstrb")>;

/// A hybrid logical clock timestamp: wall time (ms), a logical counter for
/// events within one ms (or while the wall clock lags), and the node as the
/// last tie breaker, so every stamp is unique and all nodes order them alike.
struct hlc_stamp {
  uint64_t wall_ms = 0;
  uint32_t logical = 0;
  std::string node;
};

inline bool operator<(const hlc_stamp& a, const hlc_stamp& b) {
  return std::tie(a.wall_ms, a.logical, a.node) < std::tie(b.wall_ms, b.logical, b.node);
}
inline bool operator==(const hlc_stamp& a, const hlc_stamp& b) {
  return std::tie(a.wall_ms, a.logical, a.node) == std::tie(b.wall_ms, b.logical, b.node);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, hlc_stamp& x) {
  return f(caf::meta::type_name("hlc_stamp"), x.wall_ms, x.logical, x.node);
}

/// One field of a replicated record and the stamp of its last write.
struct field_value {
  std::string value;
  hlc_stamp ts;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, field_value& x) {
  return f(caf::meta::type_name("field_value"), x.value, x.ts);
}

/// A member's part of a backup's cut.
struct cut_part {
  std::string member;
  uint64_t records = 0; // the records it leads that were live at the cut
  std::string layout;   // the members placement used then (a change means the parts may overlap or miss)
  uint64_t kept = 0;    // values kept aside because later writes replaced them
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cut_part& x) {
  return f(caf::meta::type_name("cut_part"), x.member, x.records, x.layout, x.kept);
}

/// Changed fields of one record (a delta), or all of them (a full copy).
struct record_delta {
  std::string id;
  std::map<std::string, field_value> fields;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, record_delta& x) {
  return f(caf::meta::type_name("record_delta"), x.id, x.fields);
}

/// Catch-up digest: the newest stamp of each record a node holds.
using record_digest = std::map<std::string, hlc_stamp>;

/// Write consistency: how many replicas hold a write before it is acknowledged.
enum class consistency : uint8_t { local, one, majority, all };
const char* to_string(consistency c);
bool parse_consistency(const std::string& s, consistency& out);

/// Where a replica must hold a write before it counts as holding it:
/// `fsync` on disk (the WAL's fdatasync returned), `memory` in memory.
enum class durability : uint8_t { fsync, memory };
const char* to_string(durability d);
bool parse_durability(const std::string& s, durability& out);

/// One operation on a session, state handle or task record, routed to its primary.
struct session_op {
  enum kind_t : uint8_t { create, get, touch, put, remove, list, set_info, migrate, backup };
  uint8_t kind = get;
  std::string id;
  std::string key;
  std::string value;
  std::string info;  // create: what the record is (JSON; legacy sessions keep their client info here)
  int64_t ttl_ms = 0;
  uint8_t level = static_cast<uint8_t>(consistency::majority);
  uint32_t hops = 0;  // forwards so far (bounded: placement views may differ for a moment)
  uint32_t waits = 0; // ticks it waited at a node that was sent it but does not lead it (yet)
  forward_origin origin; // the last forward's sender and both incarnations (empty: not forwarded)
  trace::context trace; // the span it is served for (invalid: not traced)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, session_op& x) {
  return f(caf::meta::type_name("session_op"), x.kind, x.id, x.key, x.value, x.info, x.ttl_ms, x.level, x.hops, x.waits,
           x.origin.from, x.origin.from_incarnation, x.origin.to_incarnation, x.trace);
}

/// A member as placement sees it (from the node actor; local only).
struct member_handle {
  std::string name;
  caf::actor node; // its node actor (invalid for this node)
  uint64_t incarnation = 0;
  bool reachable = false; // up but unreachable: counts for quorum, holds no placement
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, member_handle& x) {
  return f(caf::meta::type_name("member_handle"), x.name, x.node, x.incarnation, x.reachable);
}

/// Replication towards one peer, as this node counts it.
struct peer_replication {
  std::string peer;
  uint64_t sent = 0;       // deltas sent
  uint64_t acked = 0;      // deltas acknowledged
  uint64_t failed = 0;     // sends that timed out or failed
  uint64_t bytes_sent = 0; // payload bytes (keys and values)
  int64_t lag_ms = 0;      // age of the oldest unacknowledged send (0: none pending)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_replication& x) {
  return f(caf::meta::type_name("peer_replication"), x.peer, x.sent, x.acked, x.failed, x.bytes_sent, x.lag_ms);
}

/// How the runtime's own records' ids start (the routing versions,
/// cafmcp.routes.*). MCP ids never start with it.
constexpr const char* runtime_record_prefix = "cafmcp.";
/// Whether record `id` is the runtime's own, not MCP state: replicated like
/// every record, but not counted or listed as a session.
inline bool is_runtime_record(const std::string& id) {
  return id.rfind(runtime_record_prefix, 0) == 0;
}

/// get_replication_status: one node's replication state.
struct replication_status {
  std::string node;
  uint32_t factor = 0;
  std::string consistency;
  uint64_t records = 0;    // live records this node is a replica of (primary or backup)
  uint64_t primaries = 0;  // of them, those this node is primary for
  uint64_t sessions = 0;   // of those, MCP state (sessions, handles, tasks): not the runtime's own records
  uint64_t repairing = 0;  // records waiting for a pull from the other replicas
  uint64_t promotions = 0; // records this node became primary for after a member left
  uint64_t pending_writes = 0;
  uint32_t sync_pending = 0; // members this node still waits on to catch up (after a start)
  uint64_t caught_up = 0;    // records received while catching up
  uint64_t refused_clock_drift = 0; // replicated writes refused: stamped more than max_clock_drift_ms ahead
  std::string durability;           // fsync or memory
  std::string disk_error;           // why the replicas cannot be persisted ("" while the disk works)
  uint64_t disk_failures = 0;       // failed WAL appends and snapshots
  uint64_t wal_appends = 0;         // WAL appends (each one fdatasync with durability fsync)
  uint64_t tombstones = 0;          // deleted records this node still remembers (for tombstone_ttl_ms)
  uint64_t refused_stale = 0;       // copies refused: lacked here and older than tombstone_ttl_ms
  std::vector<std::string> members; // placement members as this node sees them
  std::vector<std::string> drained; // members being drained (manual failover)
  std::vector<peer_replication> peers;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, replication_status& x) {
  return f(caf::meta::type_name("replication_status"), x.node, x.factor, x.consistency, x.records, x.primaries,
           x.sessions, x.repairing, x.promotions, x.pending_writes, x.sync_pending, x.caught_up, x.refused_clock_drift, x.durability, x.disk_error, x.disk_failures, x.wal_appends, x.tombstones, x.refused_stale, x.members, x.drained, x.peers);
}

void register_types(caf::actor_system_config& cfg);

} // namespace cafmcp::cluster
