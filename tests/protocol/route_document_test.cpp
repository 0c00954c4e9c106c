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
