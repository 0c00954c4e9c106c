#pragma once

// Messages of the tier-1 core actors: registry, session manager, circuit
// breakers and rate limiter. All are serializable for use from other nodes.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <caf/meta/type_name.hpp>

namespace cafmcp::actors {

// -- registry ----------------------------------------------------------------
// (register_atom, name, actor) -> ok | already_registered
// (unregister_atom, name)      -> ok | not_found
// (whereis_atom, name)         -> actor | not_found
// (registered_atom)            -> vector<string>
using register_atom = caf::atom_constant<caf::atom("reg_put")>;
using unregister_atom = caf::atom_constant<caf::atom("reg_del")>;
using whereis_atom = caf::atom_constant<caf::atom("reg_where")>;
using registered_atom = caf::atom_constant<caf::atom("reg_list")>;

// -- session manager ---------------------------------------------------------
// (session_create_atom, ttl_ms)  -> session_record   (ttl_ms 0: the default)
// (session_create_atom, ttl_ms, id) -> session_record (an id the caller minted
//                                    with make_session_id; refused if taken)
// (session_create_atom, ttl_ms, id, info) -> the same, with what the record
//                                    is (JSON: a legacy session's protocol state)
// (session_info_atom, id, info)  -> ok | not_found   (replaces info; renews the TTL)
// (session_get_atom, id)         -> session_record | not_found
// (session_touch_atom, id)       -> ok | not_found   (renews the TTL)
// (session_delete_atom, id)      -> ok | not_found
// (session_list_atom)            -> vector<session_record>
// (session_put_atom, id, key, value) -> ok | not_found   (also renews the TTL)
// (session_put_atom, id, key, value, consistency) -> the same, acknowledged
//                                    once "local", "one", "majority" or "all"
//                                    replicas hold it (in a cluster)
using session_create_atom = caf::atom_constant<caf::atom("ses_new")>;
using session_get_atom = caf::atom_constant<caf::atom("ses_get")>;
using session_touch_atom = caf::atom_constant<caf::atom("ses_touch")>;
using session_delete_atom = caf::atom_constant<caf::atom("ses_del")>;
using session_list_atom = caf::atom_constant<caf::atom("ses_list")>;
using session_put_atom = caf::atom_constant<caf::atom("ses_put")>;
using session_info_atom = caf::atom_constant<caf::atom("ses_info")>;

struct session_record {
  std::string id;
  int64_t created_ms = 0;     // Unix time
  int64_t last_active_ms = 0; // Unix time
  int64_t ttl_ms = 0;
  std::map<std::string, std::string> data;
  std::string info; // what the record is ("": a state handle; JSON for a legacy session)
  std::vector<std::string> replicas; // in a cluster: the members holding it, primary first
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, session_record& x) {
  return f(caf::meta::type_name("session_record"), x.id, x.created_ms, x.last_active_ms, x.ttl_ms,
           x.data, x.info, x.replicas);
}

// -- circuit breakers ----------------------------------------------------------
// (breaker_allow_atom, key)   -> bool     (may a call go through now?)
// (breaker_success_atom, key)             (fire and forget)
// (breaker_failure_atom, key)             (fire and forget)
// (breaker_state_atom, key)   -> breaker_status
// (breaker_list_atom)         -> vector<breaker_status>
using breaker_allow_atom = caf::atom_constant<caf::atom("cb_allow")>;
using breaker_success_atom = caf::atom_constant<caf::atom("cb_ok")>;
using breaker_failure_atom = caf::atom_constant<caf::atom("cb_fail")>;
using breaker_state_atom = caf::atom_constant<caf::atom("cb_state")>;
using breaker_list_atom = caf::atom_constant<caf::atom("cb_list")>;

struct breaker_status {
  std::string key;
  std::string state; // closed | open | half_open
  uint32_t failures = 0;       // consecutive
  uint64_t rejected = 0;       // calls refused while open
  uint64_t opened = 0;         // times it opened
  int64_t retry_after_ms = 0;  // when open: until a trial call may go
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, breaker_status& x) {
  return f(caf::meta::type_name("breaker_status"), x.key, x.state, x.failures, x.rejected, x.opened,
           x.retry_after_ms);
}

// -- rate limiter --------------------------------------------------------------
// (rate_take_atom, key, tokens)  -> rate_decision  (a client key's bucket)
// (rate_stats_atom)              -> rate_stats     (since the node started)
// (rate_limits_atom)             -> vector<rate_limit> (every limit: "client", then "tool:NAME")
// (rate_set_atom, rate_limit)    -> rate_limit     (set one at run time; off: remove it)
using rate_take_atom = caf::atom_constant<caf::atom("rl_take")>;
using rate_stats_atom = caf::atom_constant<caf::atom("rl_stats")>;
using rate_limits_atom = caf::atom_constant<caf::atom("rl_limits")>;
using rate_set_atom = caf::atom_constant<caf::atom("rl_set")>;

struct rate_stats {
  uint64_t allowed = 0;
  uint64_t rejected = 0;
  uint64_t keys = 0;          // client buckets held (recently active keys)
  uint64_t client_rejected = 0;
  uint64_t tool_rejected = 0;
  uint64_t overflowed = 0;    // takes by new clients while the key table was full
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rate_stats& x) {
  return f(caf::meta::type_name("rate_stats"), x.allowed, x.rejected, x.keys, x.client_rejected,
           x.tool_rejected, x.overflowed);
}

/// One limit: scope "client" (per client key) or "tool:NAME" (that tool,
/// all clients together); off: none.
struct rate_limit {
  std::string scope;
  bool on = false;
  double capacity = 0;
  double refill_per_second = 0;
  uint64_t refused = 0; // requests this limit refused since the node started
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rate_limit& x) {
  return f(caf::meta::type_name("rate_limit"), x.scope, x.on, x.capacity, x.refill_per_second, x.refused);
}

struct rate_decision {
  bool allowed = false;
  int64_t retry_after_ms = 0; // when refused: wait this long
  double remaining = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rate_decision& x) {
  return f(caf::meta::type_name("rate_decision"), x.allowed, x.retry_after_ms, x.remaining);
}

// -- chaos (the chaos actor, observability/chaos.hpp) --------------------------
// (chaos_start_atom, spec JSON) -> chaos_experiment        (refused unless chaos.enabled)
// (chaos_list_atom)             -> vector<chaos_experiment> (active, then recently ended)
// (chaos_stop_atom, id | "all") -> vector<chaos_experiment> (the ones stopped)
using chaos_start_atom = caf::atom_constant<caf::atom("ch_start")>;
using chaos_list_atom = caf::atom_constant<caf::atom("ch_list")>;
using chaos_stop_atom = caf::atom_constant<caf::atom("ch_stop")>;

struct chaos_experiment {
  std::string id;          // e.g. "drop-2" (per node)
  std::string kind;        // kill, drop, delay, tool_fail, tool_stall, memory
  std::string what;        // in words
  std::string state;       // active, ended (its duration passed), stopped
  int64_t started_ms = 0;  // Unix time
  int64_t ends_ms = 0;     // Unix time (when it ends, or ended)
  uint64_t injected = 0;   // faults injected (kills, messages dropped or delayed, calls failed or stalled)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, chaos_experiment& x) {
  return f(caf::meta::type_name("chaos_experiment"), x.id, x.kind, x.what, x.state, x.started_ms, x.ends_ms,
           x.injected);
}

/// Registers these types and the core error category. Call on every node.
void register_types(caf::actor_system_config& cfg);

} // namespace cafmcp::actors
