// protocol/route_table: matching, priorities, weights, fallbacks, the cache, explanations.
#include <doctest/doctest.h>

#include <map>
#include <random>
#include <set>

#include <nlohmann/json.hpp>

#include "protocol/route_table.hpp"

using namespace cafmcp::protocol;
using nlohmann::json;

namespace {

route_request call(std::string_view name, std::string_view tenant = "",
                   std::map<std::string, std::string> headers = {}) {
  route_request r{tenant, "tools/call", name, nullptr};
  r.header = [headers](const std::string& h) -> std::optional<std::string> {
    auto i = headers.find(h);
    if (i == headers.end())
      return std::nullopt;
    return i->second;
  };
  return r;
}

route_target tool(std::string t, uint32_t w = 1) {
  route_target x;
  x.tool = std::move(t);
  x.weight = w;
  return x;
}

route_target ns(std::string n, uint32_t w = 1) {
  route_target x;
  x.ns = std::move(n);
  x.weight = w;
  return x;
}

const route_availability all_up = [](const std::string&, const std::string&) { return true; };

} // namespace

TEST_CASE("globs match with star and question mark, and nothing else is special") {
  CHECK(glob_match("*", ""));
  CHECK(glob_match("*", "anything"));
  CHECK(glob_match("everything.*", "everything.echo"));
  CHECK_FALSE(glob_match("everything.*", "everything"));
  CHECK(glob_match("get-?um", "get-sum"));
  CHECK(glob_match("*.e*o", "ns.echo"));
  CHECK_FALSE(glob_match("a.b", "aXb")); // a dot is a dot
  CHECK(glob_match("a*b*c", "aXXbYYc"));
  CHECK_FALSE(glob_match("a*b*c", "aXXbYY"));
  // A star or question mark in the text is text: the pattern's star still matches it.
  CHECK(glob_match("*", "*/*"));
  CHECK(glob_match("a*", "a*b"));
  CHECK(glob_match("a?c", "a*c"));
}

TEST_CASE("a rule matches by tenant, name glob, name regex and headers, and the highest priority wins") {
  route_rule broad{"broad", 0, "*", "tools/call", "*", "", {}, {tool("echo")}, {}};
  route_rule acme{"acme", 10, "acme", "tools/call", "everything.*", "", {}, {ns("mirror")}, {}};
  route_rule canary{"canary", 20, "*", "tools/call", "*", "", {{"x-canary", "1"}}, {tool("add")}, {}};
  route_rule re{"re", 5, "*", "tools/call", "*", "^get-(sum|env)$", {}, {tool("sleep")}, {}};
  route_table t{{broad, acme, canary, re}, 7};
  auto d = t.decide(call("everything.echo", "acme"), 0.5, all_up);
  REQUIRE(d);
  CHECK(d->rule == "acme");
  CHECK(d->tool == "mirror.echo");
  CHECK(d->version == 7);
  CHECK(t.decide(call("everything.echo", "other"), 0.5, all_up)->rule == "broad");
  CHECK(t.decide(call("everything.echo", "acme", {{"x-canary", "1"}}), 0.5, all_up)->rule == "canary");
  CHECK(t.decide(call("everything.echo", "acme", {{"x-canary", "0"}}), 0.5, all_up)->rule == "acme");
  CHECK(t.decide(call("get-sum"), 0.5, all_up)->rule == "re");
  CHECK(t.decide(call("get-summary"), 0.5, all_up)->rule == "broad"); // the regex is anchored
  CHECK(t.header_names() == std::vector<std::string>{"x-canary"});
  // An empty tenant pattern means calls without a tenant only.
  route_table anon{{route_rule{"anon", 0, "", "tools/call", "*", "", {}, {tool("echo")}, {}}}, 1};
  CHECK(anon.decide(call("x"), 0.5, all_up));
  CHECK_FALSE(anon.decide(call("x", "acme"), 0.5, all_up));
  // Nothing matches: no decision, the call goes where it was named.
  route_table none{{route_rule{"only", 0, "*", "tools/call", "zzz", "", {}, {tool("echo")}, {}}}, 1};
  CHECK_FALSE(none.decide(call("echo"), 0.5, all_up));
}

TEST_CASE("weighted targets share 10,000 calls within 5 % of their weights") {
  route_table t{{route_rule{"spread", 0, "*", "tools/call", "everything.*", "", {}, {ns("a", 1), ns("b", 3), ns("c", 6)}, {}}},
                1};
  std::mt19937_64 rng{42};
  std::uniform_real_distribution<double> u{0.0, 1.0};
  std::map<std::string, int> got;
  for (int i = 0; i < 10000; ++i)
    ++got[t.decide(call("everything.echo"), u(rng), all_up)->tool];
  CHECK(got["a.echo"] == doctest::Approx(1000).epsilon(0.05));
  CHECK(got["b.echo"] == doctest::Approx(3000).epsilon(0.05));
  CHECK(got["c.echo"] == doctest::Approx(6000).epsilon(0.05));
  // The pick is exact at the edges: the same pick, the same target.
  CHECK(t.decide(call("everything.echo"), 0.0, all_up)->tool == "a.echo");
  CHECK(t.decide(call("everything.echo"), 0.99, all_up)->tool == "c.echo");
}

TEST_CASE("an unavailable target's share goes to the others, then down the fallback chain in order") {
  route_table t{{route_rule{"chain", 0, "*", "tools/call", "x.*", "", {}, {ns("a", 1), ns("b", 1)}, {ns("f1"), ns("f2")}}}, 1};
  std::set<std::string> down{"a.tool"};
  auto available = [&](const std::string& tool, const std::string&) { return !down.count(tool); };
  for (double pick : {0.0, 0.3, 0.7, 0.99}) {
    auto d = t.decide(call("x.tool"), pick, available);
    REQUIRE(d);
    CHECK(d->tool == "b.tool");
    CHECK_FALSE(d->fallback);
  }
  down = {"a.tool", "b.tool"};
  auto d = t.decide(call("x.tool"), 0.5, available);
  REQUIRE(d);
  CHECK(d->tool == "f1.tool");
  CHECK(d->fallback);
  down = {"a.tool", "b.tool", "f1.tool"};
  CHECK(t.decide(call("x.tool"), 0.5, available)->tool == "f2.tool");
  down = {"a.tool", "b.tool", "f1.tool", "f2.tool"};
  std::string unavailable;
  CHECK_FALSE(t.decide(call("x.tool"), 0.5, available, &unavailable));
  CHECK(unavailable == "chain");
}

TEST_CASE("a target on a group of members sends calls to its available members in equal shares, then falls back") {
  route_target group;
  group.members = {"n2", "n3"};
  group.weight = 3;
  route_target elsewhere;
  elsewhere.members = {"n4"};
  elsewhere.tool = "backup.echo";
  route_table t{{route_rule{"spread", 0, "*", "tools/call", "*", "", {}, {group, tool("echo")}, {elsewhere}}}, 1};
  std::set<std::string> down;
  auto available = [&](const std::string& tool, const std::string& member) {
    return !down.count(member.empty() ? tool : member);
  };
  std::mt19937_64 rng{7};
  std::uniform_real_distribution<double> u{0.0, 1.0};
  std::map<std::string, int> got;
  const int calls = 10000;
  for (int i = 0; i < calls; ++i) {
    auto d = t.decide(call("echo"), u(rng), available);
    REQUIRE(d);
    CHECK(d->tool == "echo"); // members run the tool called
    ++got[d->target()];
  }
  // Weight 3 for the group (1.5 each) against 1 for this node's echo: within 5 %.
  CHECK(got["echo@n2"] == doctest::Approx(calls * 3.0 / 8).epsilon(0.05));
  CHECK(got["echo@n3"] == doctest::Approx(calls * 3.0 / 8).epsilon(0.05));
  CHECK(got["echo"] == doctest::Approx(calls * 2.0 / 8).epsilon(0.05));
  // A member that is not available gets nothing; the group's share goes to the rest of it.
  down = {"n3"};
  for (double pick : {0.0, 0.3, 0.7}) {
    auto d = t.decide(call("echo"), pick, available);
    REQUIRE(d);
    CHECK(d->target() == "echo@n2");
  }
  down = {"n2", "n3", "echo"};
  auto d = t.decide(call("echo"), 0.5, available);
  REQUIRE(d);
  CHECK(d->fallback);
  CHECK(d->target() == "backup.echo@n4");
  down.insert("n4");
  std::string unavailable;
  CHECK_FALSE(t.decide(call("echo"), 0.5, available, &unavailable));
  CHECK(unavailable == "spread");
  down = {"n3"};
  auto lines = t.explain(call("echo"), available);
  CHECK(lines.back() == "route spread (priority 0): MATCHES: targets echo on n2, n3 weight 3 (n3 unavailable), "
                        "echo weight 1; fallbacks backup.echo on n4");
}

TEST_CASE("the route cache answers repeated names, and a new table starts with an empty one") {
  std::vector<route_rule> rules;
  for (int i = 0; i < 100; ++i)
    rules.push_back(route_rule{"r" + std::to_string(i), 0, "*", "tools/call", "t" + std::to_string(i) + ".*", "", {},
                               {tool("echo")}, {}});
  route_table t{rules, 1};
  for (int i = 0; i < 10; ++i)
    CHECK(t.decide(call("t5.x"), 0.5, all_up)->rule == "r5");
  CHECK(t.lookups() == 10);
  CHECK(t.cache_hits() == 9);
  route_table next{rules, 2};
  CHECK(next.cache_hits() == 0);
  CHECK(next.decide(call("t5.x"), 0.5, all_up)->version == 2);
}

TEST_CASE("routes test explains which rule matched and why the others did not") {
  route_table t{{route_rule{"acme", 10, "acme", "tools/call", "everything.*", "", {}, {ns("mirror", 2)}, {tool("echo")}},
                 route_rule{"canary", 20, "*", "tools/call", "*", "", {{"x-canary", "1"}}, {tool("add")}, {}}},
                3};
  auto lines = t.explain(call("everything.echo", "acme"), [](const std::string& tool, const std::string&) { return tool != "echo"; });
  REQUIRE(lines.size() == 3);
  CHECK(lines[0] == "rules version 3, 2 rules");
  CHECK(lines[1] == "route canary (priority 20): no: header x-canary is absent");
  CHECK(lines[2] == "route acme (priority 10): MATCHES: targets mirror.echo weight 2; fallbacks echo (unavailable)");
  auto other = t.explain(call("add", "other"), all_up);
  CHECK(other.back() == "no rule matches: the call goes to add itself");
}

TEST_CASE("routes from config are checked with the key named") {
  auto error_of = [](const char* text) {
    try {
      parse_routes(json::parse(text));
    } catch (const std::invalid_argument& e) {
      return std::string{e.what()};
    }
    return std::string{};
  };
  auto rules = parse_routes(json::parse(R"({"spread": {"priority": 5, "name": "everything.*", "headers": {"X-Canary": "1"},
    "targets": [{"namespace": "a", "weight": 3}, {"tool": "echo"}], "fallbacks": [{"namespace": "b"}]}})"));
  REQUIRE(rules.size() == 1);
  CHECK(rules[0].priority == 5);
  CHECK(rules[0].headers == std::vector<std::pair<std::string, std::string>>{{"x-canary", "1"}});
  CHECK(rules[0].targets[0].weight == 3);
  CHECK(rules[0].targets[1].tool == "echo");
  CHECK(error_of(R"({"r": {"name": "x"}})") == R"("routes.r.targets": a route needs at least one target)");
  CHECK(error_of(R"({"r": {"targets": [{"namespace": "a", "weight": 0}]}})")
        == R"("routes.r.targets[0].weight": must be an integer from 1 to 1000000, got 0)");
  CHECK(error_of(R"({"r": {"targets": [{"namespace": "a", "tool": "b"}]}})")
        == R"("routes.r.targets[0]": needs exactly one of "tool" and "namespace", or "members")");
  CHECK(error_of(R"({"r": {"targets": [{"weight": 2}]}})")
        == R"("routes.r.targets[0]": needs exactly one of "tool" and "namespace", or "members")");
  // A group of members: names, at most one of tool and namespace, each member once.
  auto on_members = parse_routes(json::parse(R"({"m": {"targets": [{"members": ["n2", "n3"], "weight": 2}],
    "fallbacks": [{"members": ["n1"], "tool": "echo"}]}})"));
  CHECK(on_members[0].targets[0].members == std::vector<std::string>{"n2", "n3"});
  CHECK(on_members[0].targets[0].describe() == "members n2,n3 (weight 2)");
  CHECK(on_members[0].fallbacks[0].describe() == "members n1 tool echo");
  CHECK(error_of(R"({"r": {"targets": [{"members": []}]}})")
        == R"("routes.r.targets[0].members": must be a non-empty list of member names, got [])");
  CHECK(error_of(R"({"r": {"targets": [{"members": ["n2", 3]}]}})")
        == R"("routes.r.targets[0].members": must be a non-empty list of member names, got ["n2",3])");
  CHECK(error_of(R"({"r": {"targets": [{"members": ["n2"], "tool": "a", "namespace": "b"}]}})")
        == R"("routes.r.targets[0]": has both "tool" and "namespace" (one, or neither with "members"))");
  CHECK(error_of(R"({"r": {"targets": [{"members": ["n2", "n2"]}]}})")
        == R"("routes": route r: a group of members names each member once, none empty)");
  CHECK(error_of(R"({"r": {"nme": "x", "targets": [{"tool": "a"}]}})").find(R"("routes.r.nme": unknown key)") == 0);
  CHECK(error_of(R"({"r": {"name_regex": "(", "targets": [{"tool": "a"}]}})").find(R"("routes": route r: name_regex ( is not a regex)") == 0);
}

TEST_CASE("the prefix index finds the same rule as checking every rule in order") {
  std::vector<route_rule> rules;
  const char* regexes[] = {"^ab?c$", "x|yz", "^get\\.(a|b)$", "n\\.s.*", "^(p|q)r", "lit-[0-9]+", "^a{2}b", "^\\d+",
                           "q\\(|zz", "w[(]|ww"};
  int k = 0;
  for (auto re : regexes)
    rules.push_back(route_rule{"re" + std::to_string(k++), k % 3, "*", "tools/call", "*", re, {}, {tool("echo")}, {}});
  for (auto g : {"a*", "ab*", "get.*", "n.s?x", "*z", "lit-1*"})
    rules.push_back(route_rule{"g" + std::to_string(k++), k % 3, "*", "tools/call", g, "", {}, {tool("echo")}, {}});
  route_table t{rules, 1};
  for (auto name : {"ac", "abc", "abbc", "x", "yz", "get.a", "get.c", "n.s", "n.sx", "n.s.q", "pr", "qrs", "lit-12",
                    "aab", "ab", "42", "zz", "z", "", "lit-1x", "q(", "ww", "w("}) {
    auto lines = t.explain(call(name), all_up);
    std::string expected;
    for (auto& l : lines)
      if (auto m = l.find(": MATCHES"); m != std::string::npos)
        expected = l.substr(6, l.find(' ', 6) - 6);
    auto d = t.decide(call(name), 0.5, all_up);
    CHECK_MESSAGE((d ? d->rule : std::string{}) == expected, name);
  }
}
