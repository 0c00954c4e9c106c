#pragma once

// The remote supervision API: any member's supervision tree, read and
// changed through the node actor the caller is attached to (cookie-checked,
// TLS when configured), with distribute_call to the member's admin actor
// (supervision/admin.hpp). Usable from any thread with an actor system (the
// shell, tests, an operator's program); every call is bounded by `timeout`.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "actors/messages.hpp"
#include "cluster/messages.hpp"
#include "supervision/messages.hpp"
#include "supervision/tree.hpp"

namespace cafmcp::cluster {

/// Where a call goes: `node` is the attached node actor, `member` the name of
/// the member whose tree is meant (the attached node's own name works too).
struct admin_target {
  caf::actor_system& sys;
  caf::actor node;
  std::string member;
  std::chrono::milliseconds timeout{5000};
};

/// The subtree at `path` (e.g. "/root/core_sup"), mailbox sizes measured.
caf::expected<supervision::tree_node> supervision_tree(const admin_target& t, const std::string& path);
/// One level below the supervisor at `path`.
caf::expected<std::vector<supervision::tree_node>> which_children(const admin_target& t, const std::string& path);
caf::expected<supervision::child_counts> count_children(const admin_target& t, const std::string& path);

// Changes, written to the member's audit log with `who` (e.g. "alice@host").
/// Returns the new child's actor id.
caf::expected<uint64_t> start_child(const admin_target& t, const std::string& who, const std::string& path,
                                    const supervision::child_spec_desc& spec);
/// Returns the restarted child's actor id.
caf::expected<uint64_t> restart_child(const admin_target& t, const std::string& who, const std::string& path,
                                      const std::string& id);
caf::error terminate_child(const admin_target& t, const std::string& who, const std::string& path,
                           const std::string& id);
caf::error delete_child(const admin_target& t, const std::string& who, const std::string& path,
                        const std::string& id);
/// Kills the actor at `path` (an untrappable exit): its supervisor restarts
/// it by its restart type. Returns the killed actor's id.
caf::expected<uint64_t> kill_actor(const admin_target& t, const std::string& who, const std::string& path);

/// The member's last `n` audit records (JSON lines).
caf::expected<std::vector<std::string>> audit_tail(const admin_target& t, uint32_t n);

/// get_replication_status: the member's replication (records, lag per peer …).
caf::expected<replication_status> replication_status_of(const admin_target& t);

/// What trigger_failover did.
struct failover_summary {
  uint64_t records = 0; // records the drained member handed over
  std::chrono::milliseconds took{0};
};

/// trigger_failover (manual failover, `cafmcp failover`): drains
/// `t.member` — every member stops placing records on it, its primaries
/// move (to `to` where given, else to their next replica) — and waits
/// until it has handed every record to its new replicas. The drained
/// member keeps forwarding requests until it is stopped.
caf::expected<failover_summary> trigger_failover(const admin_target& t, const std::string& to);

/// migrate_session: `to` becomes the primary of session (or handle, or
/// task) `id`, having received it first. Returns the record with its replicas.
caf::expected<actors::session_record> migrate_session(const admin_target& t, const std::string& id,
                                                      const std::string& to);
/// backup_session: every replica of `id` holds its whole record now.
caf::expected<actors::session_record> backup_session(const admin_target& t, const std::string& id);

/// The member's sessions: legacy MCP sessions and state handles it is the
/// primary for (in a cluster each record is listed by its primary only).
caf::expected<std::vector<actors::session_record>> list_sessions(const admin_target& t);
/// One session of the member (the core error not_found if it has none by that id).
caf::expected<actors::session_record> get_session(const admin_target& t, const std::string& id);

/// The member's circuit breakers (tools, peers) and their states.
caf::expected<std::vector<actors::breaker_status>> list_breakers(const admin_target& t);

/// The member's rate limits ("client", "tool:NAME") and what each refused.
caf::expected<std::vector<actors::rate_limit>> rate_limits_of(const admin_target& t);

/// Sets (or removes) one of the member's rate limits at run time (role
/// admin; audited); the limits afterwards.
caf::expected<std::vector<actors::rate_limit>> set_rate_limit(const admin_target& t, const actors::rate_limit& limit);

/// Chaos experiments on the member (role admin to start or stop; audited).
caf::expected<actors::chaos_experiment> chaos_start(const admin_target& t, const std::string& spec);
caf::expected<std::vector<actors::chaos_experiment>> chaos_list(const admin_target& t);
caf::expected<std::vector<actors::chaos_experiment>> chaos_stop(const admin_target& t, const std::string& id);

/// The routing rules the member applies: {"version": N, "routes": {...}}.
caf::expected<std::string> routes_of(const admin_target& t);
/// The same, after the member looked for a newer version (and applied it).
caf::expected<std::string> routes_look(const admin_target& t);
/// Adds rule `id` (JSON text of one rule; `replace`: an existing one too)
/// or removes it, as a new version of the cluster's rules made on the
/// member (role admin; audited); the new version, as routes_of.
caf::expected<std::string> routes_add(const admin_target& t, const std::string& id, const std::string& rule,
                                      bool replace);
caf::expected<std::string> routes_remove(const admin_target& t, const std::string& id);
/// Adds (or with `replace` replaces) upstream server `name` on every member
/// (role admin; audited): `entry` is its config entry as JSON text. The new
/// version, as routes_of.
caf::expected<std::string> upstreams_add(const admin_target& t, const std::string& name, const std::string& entry,
                                         bool replace);
caf::expected<std::string> upstreams_remove(const admin_target& t, const std::string& name);
/// Adds (or with `replace` replaces) tenant `name` on every member (role
/// admin; audited): `entry` is its config entry as JSON text. The new
/// version, as routes_of.
caf::expected<std::string> tenants_add(const admin_target& t, const std::string& name, const std::string& entry,
                                       bool replace);
caf::expected<std::string> tenants_remove(const admin_target& t, const std::string& name);

} // namespace cafmcp::cluster
