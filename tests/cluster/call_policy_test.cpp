// Which calls a node's gateway lets through from outside, by role: viewers read, admins change, members replicate.
#include <doctest/doctest.h>

#include "actors/messages.hpp"
#include "cluster/call_policy.hpp"
#include "cluster/messages.hpp"
#include "supervision/admin.hpp"

using namespace cafmcp;
using namespace cafmcp::cluster;

TEST_CASE("call policy: a viewer reads the tree and sessions but cannot kill or fail over") {
  CHECK(decide_call("admin", supervision::admin_tree_atom::value, "viewer").allowed);
  CHECK(decide_call("replicator", actors::session_list_atom::value, "viewer").allowed);
  CHECK(decide_call("replicator", repl_status_atom::value, "viewer").allowed);
  auto kill = decide_call("admin", supervision::admin_kill_atom::value, "viewer");
  CHECK_FALSE(kill.allowed);
  CHECK(kill.audited);
  CHECK(kill.why == "kill needs role admin; the caller's role is viewer");
  auto failover = decide_call("replicator", repl_drain_atom::value, "viewer");
  CHECK_FALSE(failover.allowed);
  CHECK(failover.op == "failover");
}

TEST_CASE("call policy: an admin may change the tree and fail over, audited") {
  auto kill = decide_call("admin", supervision::admin_kill_atom::value, "admin");
  CHECK(kill.allowed);
  CHECK(kill.audited_by_target);
  auto failover = decide_call("replicator", repl_drain_atom::value, "admin");
  CHECK(failover.allowed);
  CHECK(failover.audited);
  CHECK_FALSE(failover.audited_by_target);
  CHECK(decide_call("replicator", repl_migrate_atom::value, "admin").audited);
  CHECK(decide_call("replicator", repl_backup_atom::value, "admin").audited);
}

TEST_CASE("call policy: a member changes another's tree only relaying an operator's call") {
  CHECK_FALSE(decide_call("admin", supervision::admin_kill_atom::value, "node").allowed);
  CHECK(decide_call("admin", supervision::admin_tree_atom::value, "node").allowed);
  CHECK(decide_call("replicator", repl_drain_atom::value, "node").allowed); // a drain is broadcast member to member
}

TEST_CASE("call policy: an application's callable actor takes calls from members and admins, audited for admins") {
  CHECK(decide_call("shouter", caf::atom("x"), "node", true).allowed);
  CHECK_FALSE(decide_call("shouter", caf::atom("x"), "node", true).audited);
  CHECK(decide_call("shouter", caf::atom("x"), "admin", true).audited);
  CHECK_FALSE(decide_call("shouter", caf::atom("x"), "viewer", true).allowed);
  CHECK_FALSE(decide_call("shouter", caf::atom("x"), "admin", false).allowed);
  CHECK_FALSE(decide_call("replicator", repl_apply_atom::value, "admin", true).allowed); // the table wins
}

TEST_CASE("call policy: replication between members is for members only") {
  CHECK(decide_call("replicator", repl_apply_atom::value, "node").allowed);
  CHECK_FALSE(decide_call("replicator", repl_apply_atom::value, "admin").allowed);
  CHECK_FALSE(decide_call("replicator", repl_sync_atom::value, "viewer").allowed);
  CHECK(decide_call("task_agent", caf::atom("tk_cancel"), "node").allowed);
  CHECK_FALSE(decide_call("task_agent", caf::atom("tk_cancel"), "admin").allowed);
  CHECK(decide_call("member_tools", caf::atom("mc_call"), "node").allowed);
  for (auto role : {"admin", "viewer"}) {
    auto d = decide_call("member_tools", caf::atom("mc_call"), role);
    CHECK_FALSE(d.allowed);
    CHECK(d.why == "member_tools is for members only");
  }
}

TEST_CASE("call policy: internal actors and unknown operations are refused for every role") {
  for (auto role : {"node", "admin", "viewer"}) {
    CHECK_FALSE(decide_call("root", supervision::admin_kill_atom::value, role).allowed);
    CHECK_FALSE(decide_call("session_manager", actors::session_list_atom::value, role).allowed);
    CHECK_FALSE(decide_call("admin", caf::atom("whatever"), role).allowed);
  }
  CHECK(decide_call("root", supervision::admin_kill_atom::value, "admin").why.find("root") != std::string::npos);
}

TEST_CASE("call policy: a viewer reads the routing rules, an admin changes them, audited") {
  CHECK(decide_call("routing", routes_get_atom::value, "viewer").allowed);
  auto viewer = decide_call("routing", routes_add_atom::value, "viewer");
  CHECK_FALSE(viewer.allowed);
  CHECK(viewer.why == "routes_add needs role admin; the caller's role is viewer");
  for (caf::atom_value op : std::vector<caf::atom_value>{routes_add_atom::value, routes_remove_atom::value}) {
    auto d = decide_call("routing", op, "admin");
    CHECK(d.allowed);
    CHECK(d.audited);
  }
  CHECK(decide_call("routing", routes_get_atom::value, "node").allowed);
}

TEST_CASE("call policy: only an admin adds or removes upstreams, audited without the entry, which may hold secrets") {
  for (caf::atom_value op : std::vector<caf::atom_value>{upstreams_add_atom::value, upstreams_remove_atom::value}) {
    CHECK_FALSE(decide_call("routing", op, "viewer").allowed);
    auto d = decide_call("routing", op, "admin");
    CHECK(d.allowed);
    CHECK(d.audited);
  }
  CHECK(decide_call("routing", upstreams_add_atom::value, "admin").secret_arguments);
  CHECK_FALSE(decide_call("routing", upstreams_remove_atom::value, "admin").secret_arguments);
  CHECK_FALSE(decide_call("routing", routes_add_atom::value, "admin").secret_arguments);
}
