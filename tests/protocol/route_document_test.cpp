// The cluster's routing rules document: each change makes the next version, checked as a config's rules are.

#include <doctest/doctest.h>

#include <stdexcept>

#include "protocol/legacy_session_record.hpp"
#include "protocol/route_document.hpp"

using namespace cafmcp::protocol;
using nlohmann::json;

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(no error)";
}

} // namespace

TEST_CASE("a rule added or removed makes the next version and leaves the old one as it was") {
  route_document v1;
  CHECK(v1.version == 1);
  CHECK(v1.compile() == nullptr); // no rules: every call goes where it is named
  auto v2 = v1.with_rule("canary", R"({"name": "echo", "targets": [{"tool": "echo2"}]})", false);
  CHECK(v2.version == 2);
  CHECK(v1.routes.empty());
  auto table = v2.compile();
  REQUIRE(table);
  CHECK(table->version() == 2);
  REQUIRE(table->rules().size() == 1);
  CHECK(table->rules()[0].targets[0].tool == "echo2");
  auto v3 = v2.with_rule("canary", R"({"name": "echo", "targets": [{"tool": "echo3"}]})", true);
  CHECK(v3.compile()->rules()[0].targets[0].tool == "echo3");
  auto v4 = v3.without_rule("canary");
  CHECK(v4.version == 4);
  CHECK(v4.routes.empty());
  CHECK(v3.routes.contains("canary"));
}

TEST_CASE("a bad change is refused naming what is wrong, and makes no version") {
  route_document d;
  d = d.with_rule("a", R"({"targets": [{"tool": "x"}]})", false);
  CHECK(error_of([&] { d.with_rule("a", R"({"targets": [{"tool": "y"}]})", false); })
        == "route a exists already (remove it first, or replace it)");
  CHECK(error_of([&] { d.with_rule("b c", "{}", false); })
        == "route id \"b c\": must be 1 to 64 of a-z, A-Z, 0-9, _, - and .");
  CHECK(error_of([&] { d.with_rule(std::string(65, 'x'), "{}", false); }).find("must be 1 to 64") != std::string::npos);
  CHECK(error_of([&] { d.with_rule("b", "{oops", false); }) == "route b: not JSON: {oops");
  CHECK(error_of([&] { d.with_rule("b", "[1]", false); }).find("route b: must be a JSON object") == 0);
  CHECK(error_of([&] { d.with_rule("b", R"({"name": "x"})", false); })
        == "\"routes.b.targets\": a route needs at least one target");
  CHECK(error_of([&] { d.with_rule("b", R"({"name_regex": "(", "targets": [{"tool": "x"}]})", false); })
          .find("\"routes\": ") == 0);
  CHECK(error_of([&] { d.without_rule("zz"); }) == "no route zz (rules version 2)");
  CHECK(d.version == 2);
}

TEST_CASE("a rules document survives its text form, and no other record reads as one") {
  auto d = route_document{}.with_rule("r", R"({"name": "a.*", "targets": [{"namespace": "b", "weight": 3}]})", false);
  auto back = route_document::from_text(d.to_text());
  REQUIRE(back);
  CHECK(back->version == 2);
  CHECK(back->routes == d.routes);
  CHECK_FALSE(route_document::from_text(""));
  CHECK_FALSE(route_document::from_text("7"));
  CHECK_FALSE(route_document::from_text(R"({"version": -1, "routes": {}})"));
  CHECK_FALSE(route_document::from_text(R"({"version": 2, "routes": []})"));
  // Its record is not a legacy MCP session, whatever a client sends as Mcp-Session-Id.
  CHECK_FALSE(legacy_session::from_info("cafmcp.routes.2", d.to_text()));
  CHECK_FALSE(legacy_session::from_info("cafmcp.routes.head", "5"));
}

TEST_CASE("an upstream added or removed makes the next version, its entry complete, the rules kept") {
  route_document v1;
  v1.routes = json{{"r", {{"name", "a"}, {"targets", {{{"tool", "b"}}}}}}};
  CHECK_FALSE(v1.upstreams); // the config's
  json config = json::object();
  auto v2 = v1.with_upstream("mirror", R"({"url": "http://127.0.0.1:9/mcp"})", false, config, {});
  CHECK(v2.version == 2);
  CHECK(v2.routes == v1.routes);
  REQUIRE(v2.upstreams);
  CHECK((*v2.upstreams)["mirror"]["url"] == "http://127.0.0.1:9/mcp");
  CHECK((*v2.upstreams)["mirror"]["call_timeout_ms"] == 60000); // defaults filled: every member reads the same
  auto v3 = v2.with_rule("s", R"({"name": "c", "targets": [{"tool": "d"}]})", false);
  CHECK(v3.upstreams == v2.upstreams); // a rule change keeps the upstreams
  auto v4 = v3.without_upstream("mirror", *v3.upstreams);
  CHECK(v4.version == 4);
  REQUIRE(v4.upstreams);
  CHECK(v4.upstreams->empty());
  auto back = route_document::from_text(v3.to_text());
  REQUIRE(back);
  CHECK(back->upstreams == v3.upstreams);
  CHECK_FALSE(route_document::from_text(v1.to_text())->upstreams);
  CHECK_FALSE(route_document::from_text(R"({"version": 2, "routes": {}, "upstreams": []})"));
}

TEST_CASE("a bad upstream change is refused naming what is wrong - a program runs only when allowed") {
  route_document v1;
  json current = json::object();
  CHECK(error_of([&] { v1.with_upstream("m", "{nope", false, current, {}); }) == "upstream m: not JSON: {nope");
  CHECK(error_of([&] { v1.with_upstream("Bad Name", R"({"url": "http://127.0.0.1:9/mcp"})", false, current, {}); })
          .find("use a-z, 0-9, _ and - only") != std::string::npos);
  CHECK(error_of([&] { v1.with_upstream("m", R"({"urll": "x"})", false, current, {}); }).find("upstreams.m.urll")
        != std::string::npos);
  CHECK(error_of([&] { v1.with_upstream("m", R"({})", false, current, {}); }).find("needs the program to run")
        != std::string::npos);
  CHECK(error_of([&] { v1.with_upstream("m", R"({"command": ["npx", "x"]})", false, current, {"python3"}); })
        == "upstream m: program npx is not in cluster.run_time_programs, so it may not be started at run time (give "
           "a url, or list the program in every member's config)");
  auto ok = v1.with_upstream("m", R"({"command": ["npx", "x"]})", false, current, {"npx"});
  CHECK(error_of([&] { ok.with_upstream("m", R"({"command": ["npx", "y"]})", false, *ok.upstreams, {"npx"}); })
        == "upstream m exists already (remove it first, or replace it)");
  auto replaced = ok.with_upstream("m", R"({"command": ["npx", "y"]})", true, *ok.upstreams, {"npx"});
  CHECK((*replaced.upstreams)["m"]["command"][1] == "y");
  CHECK(error_of([&] { v1.without_upstream("m", current); }) == "no upstream m (rules version 1)");
}

TEST_CASE("a tenant added, replaced or removed makes the next version, its entry complete, rules and upstreams kept") {
  route_document v1;
  v1.routes = json{{"r", {{"name", "a"}, {"targets", {{{"tool", "b"}}}}}}};
  v1.upstreams = json{{"mirror", {{"url", "http://127.0.0.1:9/mcp"}}}};
  CHECK_FALSE(v1.tenants); // the config's
  json config = json{{"old", {{"tools", {"*"}}, {"deny_tools", json::array()}, {"rate", ""}}}};
  auto v2 = v1.with_tenant("acme", R"({"tools": ["everything.*"], "rate": "20/10"})", false, config);
  CHECK(v2.version == 2);
  CHECK(v2.routes == v1.routes);
  CHECK(v2.upstreams == v1.upstreams);
  REQUIRE(v2.tenants);
  CHECK((*v2.tenants)["old"] == config["old"]); // the config's tenants are where it starts
  CHECK((*v2.tenants)["acme"] == json{{"tools", {"everything.*"}}, {"deny_tools", json::array()}, {"rate", "20/10"}});
  auto v3 = v2.with_rule("s", R"({"name": "c", "targets": [{"tool": "d"}]})", false);
  CHECK(v3.tenants == v2.tenants); // a rule change keeps the tenants
  CHECK(error_of([&] { v3.with_tenant("acme", "{}", false, *v3.tenants); })
        == "tenant acme exists already (remove it first, or replace it)");
  auto v4 = v3.with_tenant("acme", R"({"tools": ["echo"]})", true, *v3.tenants);
  CHECK((*v4.tenants)["acme"]["tools"] == json{"echo"});
  CHECK((*v4.tenants)["acme"]["rate"] == "");
  auto v5 = v4.without_tenant("old", *v4.tenants);
  CHECK(v5.version == 5);
  CHECK(v5.tenants->size() == 1);
  CHECK(error_of([&] { v5.without_tenant("old", *v5.tenants); }) == "no tenant old (rules version 5)");
  auto back = route_document::from_text(v5.to_text());
  REQUIRE(back);
  CHECK(back->same_contents(v5));
  CHECK_FALSE(back->same_contents(v4));
  CHECK_FALSE(route_document::from_text(v1.to_text())->tenants);
  CHECK_FALSE(route_document::from_text(R"({"version": 2, "routes": {}, "tenants": []})"));
}

TEST_CASE("a bad tenant change is refused naming what is wrong") {
  route_document v1;
  json current = json::object();
  CHECK(error_of([&] { v1.with_tenant("acme", "{nope", false, current); }) == "tenant acme: not JSON: {nope");
  CHECK(error_of([&] { v1.with_tenant("acme", "[1]", false, current); }).find("must be a JSON object")
        != std::string::npos);
  CHECK(error_of([&] { v1.with_tenant("two words", "{}", false, current); }).find("printable characters without spaces")
        != std::string::npos);
  CHECK(error_of([&] { v1.with_tenant("acme", R"({"tool": ["x"]})", false, current); }).find("tenants.acme.tool")
        != std::string::npos);
  CHECK(error_of([&] { v1.with_tenant("acme", R"({"rate": "fast"})", false, current); }).find("\"tenants.acme.rate\"")
        != std::string::npos);
  CHECK(error_of([&] { v1.with_tenant("acme", R"({"tools": "x"})", false, current); }).find("tenants.acme.tools")
        != std::string::npos);
}

TEST_CASE("what a member answers about its version masks upstreams' header and environment values") {
  route_document v1;
  auto v2 = v1.with_upstream("m", R"({"url": "http://127.0.0.1:9/mcp", "headers": ["Authorization: Bearer s3cret"]})",
                             false, json::object(), {});
  v2 = v2.with_upstream("p", R"({"command": ["npx"], "env": ["TOKEN=hunter2"]})", false, *v2.upstreams, {"npx"});
  auto shown = v2.redacted();
  CHECK((*shown.upstreams)["m"]["headers"] == json{"Authorization: ***"});
  CHECK((*shown.upstreams)["p"]["env"] == json{"TOKEN=***"});
  CHECK(shown.to_text().find("s3cret") == std::string::npos);
  CHECK(shown.to_text().find("hunter2") == std::string::npos);
  CHECK(v2.to_text().find("s3cret") != std::string::npos); // the record itself keeps them: members need them
}
