// What a node does when its cluster's version names other upstreams: which to stop and start, and which it refuses.

#include <doctest/doctest.h>

#include "protocol/upstream_fleet.hpp"

using namespace cafmcp::protocol;
using nlohmann::json;

TEST_CASE("going to another set of upstreams stops the gone and the changed, and starts the new and the changed") {
  json running{{"a", {{"url", "http://127.0.0.1:1/mcp"}}}, {"b", {{"url", "http://127.0.0.1:2/mcp"}}},
               {"c", {{"url", "http://127.0.0.1:3/mcp"}}}};
  json wanted{{"a", {{"url", "http://127.0.0.1:1/mcp"}}}, {"b", {{"url", "http://127.0.0.1:22/mcp"}}},
              {"d", {{"url", "http://127.0.0.1:4/mcp"}}}};
  auto todo = plan_upstreams(running, wanted);
  CHECK(todo.stop == std::vector<std::string>{"b", "c"});
  REQUIRE(todo.start.size() == 2);
  CHECK(todo.start[0].first == "b");
  CHECK(todo.start[0].second["url"] == "http://127.0.0.1:22/mcp");
  CHECK(todo.start[1].first == "d");
  CHECK(plan_upstreams(running, running).empty());
  CHECK(plan_upstreams(json::object(), json::object()).empty());
}

TEST_CASE("a member runs a program named at run time only when its own config lists it - its config's and URLs always") {
  json config{{"everything", {{"command", {"npx", "@modelcontextprotocol/server-everything"}}}}};
  CHECK(may_run("everything", config["everything"], config, {}).empty());
  CHECK(may_run("mirror", {{"url", "http://127.0.0.1:1/mcp"}, {"command", json::array()}}, config, {}).empty());
  json other{{"command", {"npx", "something-else"}}};
  CHECK(may_run("everything", other, config, {}) == "program npx is not in this node's cluster.run_time_programs");
  CHECK(may_run("everything", other, config, {"npx"}).empty());
  CHECK(may_run("x", {{"command", {"/usr/bin/python3", "-m", "srv"}}}, config, {"npx"})
        == "program /usr/bin/python3 is not in this node's cluster.run_time_programs");
}
