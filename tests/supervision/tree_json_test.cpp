// The supervision tree's one JSON shape (the shell's --json and the dashboard).

#include <doctest/doctest.h>

#include "supervision/tree.hpp"
#include "supervision/tree_json.hpp"

using namespace cafmcp::supervision;

namespace {

tree_node sample_tree() {
  tree_node root;
  root.id = "root";
  root.path = "/root";
  root.type = "supervisor";
  root.state = "running";
  root.strategy = "one_for_one";
  root.actor_id = 7;
  tree_node worker;
  worker.id = "registry";
  worker.path = "/root/registry";
  worker.type = "worker";
  worker.state = "running";
  worker.restart = "permanent";
  worker.restarts = 2;
  worker.actor_id = 9;
  worker.mailbox = 3;
  tree_node sup;
  sup.id = "tool_sup";
  sup.path = "/root/tool_sup";
  sup.type = "supervisor";
  sup.state = "restarting";
  sup.strategy = "simple_one_for_one";
  sup.restart = "transient";
  root.children = {worker, sup};
  return root;
}

} // namespace

TEST_CASE("the tree JSON names every field of a node") {
  auto j = tree_json(sample_tree());
  CHECK(j["id"] == "root");
  CHECK(j["path"] == "/root");
  CHECK(j["type"] == "supervisor");
  CHECK(j["state"] == "running");
  CHECK(j["strategy"] == "one_for_one");
  CHECK(j["restarts"] == 0);
  CHECK(j["actor_id"] == 7);
  CHECK_FALSE(j.contains("restart")); // the top has no restart type
  REQUIRE(j["children"].size() == 2);
  auto& w = j["children"][0];
  CHECK(w["restart"] == "permanent");
  CHECK(w["restarts"] == 2);
  CHECK(w["mailbox"] == 3);
  CHECK_FALSE(w.contains("strategy"));
  CHECK_FALSE(w.contains("children")); // workers have none
}

TEST_CASE("the tree JSON says null for an unmeasured mailbox and lists an empty supervisor's children") {
  auto j = tree_json(sample_tree());
  CHECK(j["mailbox"].is_null());
  auto& s = j["children"][1];
  CHECK(s["state"] == "restarting");
  CHECK(s["strategy"] == "simple_one_for_one");
  CHECK(s["children"].is_array());
  CHECK(s["children"].empty());
}
