// The remote supervision API: any member's tree, read and changed through its node actor.
#include "cluster/admin_client.hpp"

#include <caf/all.hpp>

#include "cluster/client.hpp"
#include "cluster/errors.hpp"
#include "supervision/admin.hpp"

namespace cafmcp::cluster {

namespace {

using namespace supervision;

caf::expected<caf::message> call(const admin_target& t, const std::string& actor, caf::message msg) {
  return distribute_call(t.sys, t.node, t.member, actor, std::move(msg), t.timeout);
}

/// The one value of type T in an answer.
template <class T>
caf::expected<T> one(caf::expected<caf::message> m) {
  if (!m)
    return m.error();
  if (!m->match_elements<T>())
    return make_error(errc::unexpected_answer, caf::to_string(*m));
  return m->get_as<T>(0);
}

/// An answer without a value.
caf::error none(caf::expected<caf::message> m) {
  if (!m)
    return m.error();
  if (!m->empty())
    return make_error(errc::unexpected_answer, caf::to_string(*m));
  return caf::none;
}

/// An answer of ok (or nothing).
caf::error none_or_ok(caf::expected<caf::message> m) {
  if (m && m->match_elements<caf::ok_atom>())
    return caf::none;
  return none(std::move(m));
}

} // namespace

caf::expected<tree_node> supervision_tree(const admin_target& t, const std::string& path) {
  return one<tree_node>(call(t, "admin", caf::make_message(admin_tree_atom::value, path)));
}

caf::expected<std::vector<tree_node>> which_children(const admin_target& t, const std::string& path) {
  return one<std::vector<tree_node>>(call(t, "admin", caf::make_message(admin_which_atom::value, path)));
}

caf::expected<child_counts> count_children(const admin_target& t, const std::string& path) {
  return one<child_counts>(call(t, "admin", caf::make_message(admin_count_atom::value, path)));
}

caf::expected<uint64_t> start_child(const admin_target& t, const std::string& who, const std::string& path,
                                    const child_spec_desc& spec) {
  return one<uint64_t>(call(t, "admin", caf::make_message(admin_start_atom::value, who, path, spec)));
}

caf::expected<uint64_t> restart_child(const admin_target& t, const std::string& who, const std::string& path,
                                      const std::string& id) {
  return one<uint64_t>(call(t, "admin", caf::make_message(admin_restart_atom::value, who, path, id)));
}

caf::error terminate_child(const admin_target& t, const std::string& who, const std::string& path,
                           const std::string& id) {
  return none(call(t, "admin", caf::make_message(admin_terminate_atom::value, who, path, id)));
}

caf::error delete_child(const admin_target& t, const std::string& who, const std::string& path,
                        const std::string& id) {
  return none(call(t, "admin", caf::make_message(admin_delete_atom::value, who, path, id)));
}

caf::expected<uint64_t> kill_actor(const admin_target& t, const std::string& who, const std::string& path) {
  return one<uint64_t>(call(t, "admin", caf::make_message(admin_kill_atom::value, who, path)));
}

caf::expected<std::vector<std::string>> audit_tail(const admin_target& t, uint32_t n) {
  return one<std::vector<std::string>>(call(t, "admin", caf::make_message(admin_audit_atom::value, n)));
}

caf::expected<replication_status> replication_status_of(const admin_target& t) {
  return one<replication_status>(call(t, "replicator", caf::make_message(repl_status_atom::value)));
}

caf::expected<failover_summary> trigger_failover(const admin_target& t, const std::string& to) {
  auto started = std::chrono::steady_clock::now();
  // The drained member tells every other member itself, then hands over.
  if (auto err = none_or_ok(call(t, "replicator", caf::make_message(repl_drain_atom::value, t.member, to, true))))
    return err;
  auto moved = one<uint64_t>(call(t, "replicator", caf::make_message(repl_handoff_atom::value)));
  if (!moved)
    return moved.error();
  failover_summary out;
  out.records = *moved;
  out.took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  return out;
}

caf::expected<actors::session_record> migrate_session(const admin_target& t, const std::string& id,
                                                      const std::string& to) {
  return one<actors::session_record>(call(t, "replicator", caf::make_message(repl_migrate_atom::value, id, to)));
}

caf::expected<actors::session_record> backup_session(const admin_target& t, const std::string& id) {
  return one<actors::session_record>(call(t, "replicator", caf::make_message(repl_backup_atom::value, id)));
}

caf::expected<std::vector<actors::session_record>> list_sessions(const admin_target& t) {
  return one<std::vector<actors::session_record>>(
    call(t, "replicator", caf::make_message(actors::session_list_atom::value)));
}

caf::expected<actors::session_record> get_session(const admin_target& t, const std::string& id) {
  return one<actors::session_record>(
    call(t, "replicator", caf::make_message(actors::session_get_atom::value, id)));
}

caf::expected<std::vector<actors::breaker_status>> list_breakers(const admin_target& t) {
  return one<std::vector<actors::breaker_status>>(
    call(t, "circuit_breakers", caf::make_message(actors::breaker_list_atom::value)));
}

caf::expected<std::vector<actors::rate_limit>> rate_limits_of(const admin_target& t) {
  return one<std::vector<actors::rate_limit>>(call(t, "rate_limiter", caf::make_message(actors::rate_limits_atom::value)));
}

caf::expected<std::vector<actors::rate_limit>> set_rate_limit(const admin_target& t, const actors::rate_limit& limit) {
  return one<std::vector<actors::rate_limit>>(
    call(t, "rate_limiter", caf::make_message(actors::rate_set_atom::value, limit)));
}

caf::expected<actors::chaos_experiment> chaos_start(const admin_target& t, const std::string& spec) {
  return one<actors::chaos_experiment>(call(t, "chaos", caf::make_message(actors::chaos_start_atom::value, spec)));
}

caf::expected<std::vector<actors::chaos_experiment>> chaos_list(const admin_target& t) {
  return one<std::vector<actors::chaos_experiment>>(call(t, "chaos", caf::make_message(actors::chaos_list_atom::value)));
}

caf::expected<std::vector<actors::chaos_experiment>> chaos_stop(const admin_target& t, const std::string& id) {
  return one<std::vector<actors::chaos_experiment>>(
    call(t, "chaos", caf::make_message(actors::chaos_stop_atom::value, id)));
}

caf::expected<std::string> routes_of(const admin_target& t) {
  return one<std::string>(call(t, "routing", caf::make_message(routes_get_atom::value)));
}

caf::expected<std::string> routes_look(const admin_target& t) {
  return one<std::string>(call(t, "routing", caf::make_message(routes_look_atom::value)));
}

caf::expected<std::string> routes_add(const admin_target& t, const std::string& id, const std::string& rule,
                                      bool replace) {
  return one<std::string>(call(t, "routing", caf::make_message(routes_add_atom::value, id, rule, replace)));
}

caf::expected<std::string> routes_remove(const admin_target& t, const std::string& id) {
  return one<std::string>(call(t, "routing", caf::make_message(routes_remove_atom::value, id)));
}

caf::expected<std::string> upstreams_add(const admin_target& t, const std::string& name, const std::string& entry,
                                         bool replace) {
  return one<std::string>(call(t, "routing", caf::make_message(upstreams_add_atom::value, name, entry, replace)));
}

caf::expected<std::string> upstreams_remove(const admin_target& t, const std::string& name) {
  return one<std::string>(call(t, "routing", caf::make_message(upstreams_remove_atom::value, name)));
}

caf::expected<std::string> tenants_add(const admin_target& t, const std::string& name, const std::string& entry,
                                       bool replace) {
  return one<std::string>(call(t, "routing", caf::make_message(tenants_add_atom::value, name, entry, replace)));
}

caf::expected<std::string> tenants_remove(const admin_target& t, const std::string& name) {
  return one<std::string>(call(t, "routing", caf::make_message(tenants_remove_atom::value, name)));
}

} // namespace cafmcp::cluster
