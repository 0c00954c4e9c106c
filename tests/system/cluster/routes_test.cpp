// Routing rules changed at run time on a real 3-node cluster: `cafmcp routes
// add|remove` makes a new version that every member applies, concurrent
// changes all land, and a restarted member catches up.

#include <algorithm>
#include <fstream>
#include <functional>
#include <future>
#include <iterator>
#include <sstream>
#include <thread>

#include "tests/support/cluster_fixture.hpp"
#include "tests/support/mcp_call.hpp"

using namespace cafmcp::test;

namespace {

const char* block_echo = R"({"name": "echo", "targets": [{"tool": "missing"}]})";

std::vector<std::string> routes_argv(const three_nodes& c, const cluster_node& n, std::vector<std::string> args,
                                     const std::string& user = "admin", const std::string& command = "routes") {
  args.insert(args.begin(), {binary, command});
  args.insert(args.end(), {"--node", n.address()});
  auto flags = client_flags(c.dir, c.cookie, user);
  args.insert(args.end(), flags.begin(), flags.end());
  return args;
}

/// `cafmcp routes ARGS --node N …`.
run_result routes(const three_nodes& c, const cluster_node& n, std::vector<std::string> args,
                  const std::string& user = "admin") {
  return run(routes_argv(c, n, std::move(args), user), 40s);
}

/// `cafmcp upstreams ARGS --node N …`.
run_result upstreams(const three_nodes& c, const cluster_node& n, std::vector<std::string> args,
                     const std::string& user = "admin") {
  return run(routes_argv(c, n, std::move(args), user, "upstreams"), 40s);
}

/// `cafmcp tenants ARGS --node N …`.
run_result tenants(const three_nodes& c, const cluster_node& n, std::vector<std::string> args,
                   const std::string& user = "admin") {
  return run(routes_argv(c, n, std::move(args), user, "tenants"), 40s);
}

/// The headers and body of a 2026-07-28 request of `method`, as `tenant` (X-Tenant).
std::pair<std::vector<std::pair<std::string, std::string>>, json> tenant_request(const std::string& method, json params,
                                                                                 const std::string& tenant) {
  params["_meta"] = {{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
                     {"io.modelcontextprotocol/clientCapabilities", json::object()}};
  std::vector<std::pair<std::string, std::string>> h{{"Content-Type", "application/json"},
                                                     {"Accept", "application/json, text/event-stream"},
                                                     {"MCP-Protocol-Version", "2026-07-28"},
                                                     {"Mcp-Method", method},
                                                     {"X-Tenant", tenant}};
  if (params.contains("name"))
    h.push_back({"Mcp-Name", params["name"].get<std::string>()});
  return {h, json{{"jsonrpc", "2.0"}, {"id", 1}, {"method", method}, {"params", params}}};
}

/// The tool names `n` lists for `tenant` (sorted; empty when the answer is not a list).
std::vector<std::string> tools_of(const cluster_node& n, const std::string& tenant) {
  auto [h, body] = tenant_request("tools/list", json::object(), tenant);
  auto r = json::parse(http_request(n.http_port, "POST", "/mcp", h, body.dump()).body, nullptr, false);
  std::vector<std::string> out;
  if (r.is_object() && r.contains("result"))
    for (auto& t : r["result"]["tools"])
      out.push_back(t["name"]);
  std::sort(out.begin(), out.end());
  return out;
}

/// Whether every member lists tools for `tenant` as `ok` says, within 20 s.
bool lists_on_every_member(const three_nodes& c, const std::string& tenant,
                           const std::function<bool(const std::vector<std::string>&)>& ok) {
  auto deadline = std::chrono::steady_clock::now() + 20s;
  for (auto* n : {c.n1.get(), c.n2.get(), c.n3.get()}) {
    std::vector<std::string> last;
    while (!ok(last = tools_of(*n, tenant)) && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(100ms);
    if (!ok(last)) {
      MESSAGE(n->name << " lists " << last.size() << " tools for " << tenant);
      return false;
    }
  }
  return true;
}

/// Whether every member answers a call of `tool` as `ok` says, within 20 s.
bool on_every_member(const three_nodes& c, const std::string& tool, const std::function<bool(const json&)>& ok) {
  auto deadline = std::chrono::steady_clock::now() + 20s;
  for (auto* n : {c.n1.get(), c.n2.get(), c.n3.get()}) {
    json last;
    while (!ok(last = mcp_tool_call(n->http_port, tool, {{"text", "hi"}}).body)
           && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(100ms);
    if (!ok(last)) {
      MESSAGE(n->name << " answers " << tool << " with " << last.dump());
      return false;
    }
  }
  return true;
}

/// Each member's rules version, as `n` reports them (`routes list --json`).
std::map<std::string, uint64_t> versions(const three_nodes& c, const cluster_node& n) {
  auto r = routes(c, n, {"list", "--json"});
  INFO(r.err);
  std::map<std::string, uint64_t> out;
  auto j = json::parse(r.out, nullptr, false);
  if (j.is_array())
    for (auto& m : j)
      out[m["node"]] = m["version"];
  return out;
}

/// The JSON-RPC error code a call of echo gets from `n` (0: it worked).
int echo_error(const cluster_node& n) {
  auto r = mcp_tool_call(n.http_port, "echo", {{"text", "x"}});
  return r.body.contains("error") ? r.body["error"]["code"].get<int>() : 0;
}

std::vector<std::string> audited_ops(const three_nodes& c, const std::string& node) {
  std::ifstream in{c.dir.path() + "/" + node + ".audit.jsonl"};
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    auto j = json::parse(line, nullptr, false);
    if (j.is_object())
      out.push_back(j["op"].get<std::string>() + " " + j["result"].get<std::string>());
  }
  return out;
}

} // namespace

TEST_CASE("a rule change made on one member is applied on every member with one version - bad rules refused, audited") {
  three_nodes c;
  CHECK(versions(c, *c.n1) == std::map<std::string, uint64_t>{{"n1", 1}, {"n2", 1}, {"n3", 1}});
  for (auto* n : {c.n1.get(), c.n2.get(), c.n3.get()})
    REQUIRE(echo_error(*n) == 0);

  auto add = routes(c, *c.n2, {"add", "block", block_echo});
  INFO(add.err);
  REQUIRE(add.code == 0);
  CHECK(add.out == "route block added: rules version 2, applied on n1, n2, n3\n");
  // Every member routes by version 2 now: echo goes to a tool that is not there, so it is refused.
  for (auto* n : {c.n1.get(), c.n2.get(), c.n3.get()}) {
    auto r = mcp_tool_call(n->http_port, "echo", {{"text", "x"}});
    INFO(n->name << ": " << r.body.dump());
    CHECK(r.body["error"]["code"] == -32031);
    CHECK(r.body["error"]["data"]["route"] == "block");
  }
  CHECK(versions(c, *c.n3) == std::map<std::string, uint64_t>{{"n1", 2}, {"n2", 2}, {"n3", 2}});
  // The version's records are the runtime's own: no member counts them as sessions.
  for (auto* n : {c.n1.get(), c.n2.get(), c.n3.get()})
    CHECK_MESSAGE(metric(n->web_port, "cafmcp_sessions") == 0, n->name);
  auto test = routes(c, *c.n3, {"test", "--name", "echo", "--down", "missing"});
  CHECK(test.code == 1); // the rule has nothing available
  CHECK(test.out == "rules version 2, 1 rules\nroute block (priority 0): MATCHES: targets missing weight 1 (unavailable)\n"
                    "refused: nothing of route block is available (-32031)\n");

  // Refused, and nothing changes: an id in use, a bad rule, JSON that is not, a viewer.
  auto again = routes(c, *c.n1, {"add", "block", block_echo});
  CHECK(again.code == 1);
  CHECK(again.err.find("route block exists already (remove it first, or replace it)") != std::string::npos);
  auto bad = routes(c, *c.n1, {"add", "x", R"({"targets": [{"tool": "a", "weight": 0}]})"});
  CHECK(bad.code == 2);
  CHECK(bad.err.find("\"routes.x.targets[0].weight\": must be an integer from 1 to 1000000, got 0") != std::string::npos);
  auto not_json = routes(c, *c.n1, {"add", "x", "{oops"});
  CHECK(not_json.code == 2);
  CHECK(not_json.err.find("route x: not JSON: {oops") != std::string::npos);
  auto missing = routes(c, *c.n1, {"remove", "nothere"});
  CHECK(missing.code == 1);
  CHECK(missing.err.find("no route nothere (rules version 2)") != std::string::npos);
  auto viewer = routes(c, *c.n1, {"remove", "block"}, "viewer");
  CHECK(viewer.code == 1);
  CHECK(viewer.err.find("routes_remove needs role admin; the caller's role is viewer") != std::string::npos);
  CHECK(versions(c, *c.n2) == std::map<std::string, uint64_t>{{"n1", 2}, {"n2", 2}, {"n3", 2}});

  auto remove = routes(c, *c.n1, {"remove", "block"});
  INFO(remove.err);
  REQUIRE(remove.code == 0);
  CHECK(remove.out == "route block removed: rules version 3, applied on n1, n2, n3\n");
  for (auto* n : {c.n1.get(), c.n2.get(), c.n3.get()})
    CHECK(echo_error(*n) == 0);
  CHECK(audited_ops(c, "n2") == std::vector<std::string>{"routes_add requested"});
  auto n1_ops = audited_ops(c, "n1");
  CHECK(std::count(n1_ops.begin(), n1_ops.end(), "routes_remove requested") == 2);
}

TEST_CASE("four rule changes made at once on two members all land, in four versions every member applies") {
  three_nodes c;
  // Four writers at once, through two members: however they interleave, every change lands.
  std::vector<std::unique_ptr<process>> writers;
  for (int i = 0; i < 4; ++i) {
    auto& via = i % 2 == 0 ? *c.n1 : *c.n3;
    auto id = "r" + std::to_string(i);
    writers.push_back(std::make_unique<process>(
      routes_argv(c, via, {"add", id, R"({"name": "add", "tenant": ")" + id + R"(", "targets": [{"tool": "add"}]})"}),
      c.dir.path()));
  }
  for (auto& w : writers) {
    auto rc = w->wait_exit(40s);
    INFO(w->out() << w->err());
    CHECK(rc == 0);
  }
  // Whether two of them collided here depends on timing (the retry itself
  // is tested against a stand-in replicator: tests/cluster/route_sync_test.cpp).
  static const std::regex built_on{R"(\S+ info +n[13] /root/cluster_sup/routing: routing rules version \d+ was made by another change meanwhile: building on it)"};
  size_t collisions = 0;
  for (auto* n : {c.n1.get(), c.n3.get()}) {
    std::istringstream lines{n->proc->err()};
    std::string line;
    while (std::getline(lines, line))
      collisions += std::regex_match(line, built_on) ? 1 : 0;
  }
  MESSAGE(collisions << " change(s) found their version taken and built on another");
  // Each came after some others and built on them: version 5 holds all four.
  CHECK(versions(c, *c.n2) == std::map<std::string, uint64_t>{{"n1", 5}, {"n2", 5}, {"n3", 5}});
  auto list = routes(c, *c.n2, {"list", "--json"});
  auto j = json::parse(list.out, nullptr, false);
  REQUIRE(j.is_array());
  for (auto& m : j)
    for (auto id : {"r0", "r1", "r2", "r3"})
      CHECK_MESSAGE(m["routes"].contains(id), (m["node"].get<std::string>() + " lacks " + id));
}

TEST_CASE("a member killed and restarted while the rules change applies the newest version when it is back") {
  three_nodes c;
  REQUIRE(routes(c, *c.n1, {"add", "block", block_echo}).code == 0);
  c.n3->proc->signal(SIGKILL);
  c.n3->proc->wait_exit(10s);
  // Once n3 is removed (the records it held have other replicas: remove_after_ms), a change lands on the others.
  REQUIRE(wait_status(c.dir, *c.n1, c.cookie, [](const json& rows) {
    auto n3 = row_of(rows, "n3");
    return n3.is_null() || n3["state"] == "removed";
  }));
  auto add = routes(c, *c.n1, {"add", "other", R"({"name": "add", "targets": [{"tool": "add"}]})"});
  INFO(add.err);
  CHECK(add.code == 0);
  CHECK(add.out == "route other added: rules version 3, applied on n1, n2\n");
  c.n3 = std::make_unique<cluster_node>(c.dir, "n3", c.cookie, c.config, c.n1->address());
  // Its config has no rules (version 1); it finds version 3 within its poll interval.
  bool caught_up = false;
  for (int i = 0; i < 100 && !caught_up; ++i) { // bounded: 10 s
    caught_up = versions(c, *c.n1)["n3"] == 3;
    if (!caught_up)
      std::this_thread::sleep_for(100ms);
  }
  CHECK(caught_up);
  CHECK(echo_error(*c.n3) == -32031);
}

TEST_CASE("an upstream added with cafmcp upstreams add runs on every member and its tools are served there - removed, they go") {
  temp_dir dir;
  auto b_port = free_port();
  process b{{binary, "node", "--name", "b1", "--http-port", std::to_string(b_port), "--metrics-port", "0"}, dir.path()};
  REQUIRE(wait_ready(b, "b1"));
  three_nodes c;
  auto served = [](const json& r) { return r.contains("result") && r["result"]["content"][0]["text"] == "hi"; };
  auto unknown = [](const json& r) { return r.contains("error") && r["error"]["code"] == -32602; };
  REQUIRE(on_every_member(c, "mirror.echo", unknown));

  auto entry = json{{"url", "http://127.0.0.1:" + std::to_string(b_port) + "/mcp"}, {"headers", {"X-Key: s3cret"}}};
  auto add = upstreams(c, *c.n2, {"add", "mirror", entry.dump()});
  INFO(add.err);
  REQUIRE(add.code == 0);
  CHECK(add.out.rfind("upstream mirror added: version 2, applied on n1, n2, n3\n", 0) == 0);
  CHECK(on_every_member(c, "mirror.echo", served));
  auto list = upstreams(c, *c.n3, {"list", "--json"});
  auto listed = json::parse(list.out, nullptr, false);
  REQUIRE(listed.is_array());
  CHECK(listed.size() == 3);
  for (auto& m : listed) {
    CHECK(m["version"] == 2);
    CHECK(m["upstreams"]["mirror"]["headers"] == json{"X-Key: ***"}); // secrets are not shown
  }
  // Audited, without the entry.
  CHECK(audited_ops(c, "n2") == std::vector<std::string>{"upstreams_add requested"});
  std::ifstream audit{c.dir.path() + "/n2.audit.jsonl"};
  std::string audit_text{std::istreambuf_iterator<char>{audit}, {}};
  CHECK(audit_text.find("s3cret") == std::string::npos);

  // Refused: a program no member's config allows, a name in use, a viewer.
  auto program = upstreams(c, *c.n1, {"add", "py", R"({"command": ["python3", "-c", "pass"]})"});
  CHECK(program.code == 1);
  CHECK(program.err.find("program python3 is not in cluster.run_time_programs") != std::string::npos);
  auto again = upstreams(c, *c.n1, {"add", "mirror", entry.dump()});
  CHECK(again.code == 1);
  CHECK(again.err.find("upstream mirror exists already") != std::string::npos);
  auto bad = upstreams(c, *c.n1, {"add", "x", R"({"url": "ftp://x"})"});
  CHECK(bad.code == 2);
  auto viewer = upstreams(c, *c.n1, {"remove", "mirror"}, "viewer");
  CHECK(viewer.code == 1);
  CHECK(viewer.err.find("upstreams_remove needs role admin; the caller's role is viewer") != std::string::npos);

  auto remove = upstreams(c, *c.n1, {"remove", "mirror"});
  INFO(remove.err);
  REQUIRE(remove.code == 0);
  CHECK(remove.out == "upstream mirror removed: version 3, applied on n1, n2, n3\n");
  CHECK(on_every_member(c, "mirror.echo", unknown));
  // Its metrics went with it on every member (it ran, and was called, on each).
  for (auto* n : {c.n1.get(), c.n2.get(), c.n3.get()}) {
    auto metrics = http_request(n->web_port, "GET", "/metrics", {}).body;
    CHECK_MESSAGE(metrics.find("upstream=\"mirror\"") == std::string::npos, n->name);
  }
  b.signal(SIGTERM);
  CHECK(b.wait_exit(20s) == 0);
}

namespace {

const char* member_routes = R"({
  "cluster": {"heartbeat_ms": 200, "unhealthy_after": 3, "remove_after_ms": 3000, "split_brain": {"stable_after_ms": 600},
              "member_call_timeout_ms": 3000},
  "supervision": {"shutdown_grace_ms": 10000},
  "routes": {
    "echo_anywhere": {"name": "echo", "targets": [{"members": ["n2", "n3"]}]},
    "on_n2": {"name": "add", "targets": [{"members": ["n2"]}], "fallbacks": [{"members": ["n3"]}]},
    "slow_on_n2": {"name": "sleep", "targets": [{"members": ["n2"]}]},
    "hello": {"method": "prompts/get", "name": "hello", "targets": [{"tool": "greeting"}]},
    "greeting_on_n2": {"method": "prompts/get", "name": "greeting", "targets": [{"members": ["n2"]}]},
    "info_alias": {"method": "resources/read", "name": "cafmcp://alias/info", "targets": [{"tool": "cafmcp://server/info"}]},
    "echoes_on_n2": {"method": "resources/read", "name": "cafmcp://echo/*", "targets": [{"members": ["n2"]}]}
  }
})";

/// A counter or gauge of `n`, once it reads `want` (bounded: 10 s); its last value.
double metric_reaching(const cluster_node& n, const std::string& series, double want) {
  double v = -1;
  for (int i = 0; i < 100 && (v = metric(n.web_port, series)) != want; ++i)
    std::this_thread::sleep_for(100ms);
  return v;
}

std::string member_calls(const std::string& from, const std::string& outcome) {
  return R"(cafmcp_member_calls_total\{from=")" + from + R"(",outcome=")" + outcome + R"("\})";
}

/// A stateless request's JSON-RPC reply (`name`: its Mcp-Name header).
json stateless(uint16_t port, const std::string& method, json params, const std::string& name) {
  params["_meta"] = {{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
                     {"io.modelcontextprotocol/clientCapabilities", json::object()}};
  json body{{"jsonrpc", "2.0"}, {"id", 1}, {"method", method}, {"params", std::move(params)}};
  auto r = http_request(port, "POST", "/mcp",
                        {{"Content-Type", "application/json"}, {"Accept", "application/json, text/event-stream"},
                         {"MCP-Protocol-Version", "2026-07-28"}, {"Mcp-Method", method}, {"Mcp-Name", name}},
                        body.dump(), 10s);
  return json::parse(r.body, nullptr, false);
}

json prompt_get(uint16_t port, const std::string& name, const json& args) {
  return stateless(port, "prompts/get", json{{"name", name}, {"arguments", args}}, name);
}

json resource_read(uint16_t port, const std::string& uri) {
  return stateless(port, "resources/read", json{{"uri", uri}}, uri);
}

/// A stateless tools/call of sleep with a progress token: the SSE events'
/// JSON messages, in order.
std::vector<json> sleep_with_progress(uint16_t port, int ms) {
  auto body = mcp_tool_call_body("sleep", {{"ms", ms}});
  body["params"]["_meta"]["progressToken"] = "p1";
  auto r = http_request(port, "POST", "/mcp",
                        {{"Content-Type", "application/json"}, {"Accept", "application/json, text/event-stream"},
                         {"MCP-Protocol-Version", "2026-07-28"}, {"Mcp-Method", "tools/call"}, {"Mcp-Name", "sleep"}},
                        body.dump(), 15s);
  std::vector<json> out;
  std::istringstream lines{r.body};
  std::string line;
  while (std::getline(lines, line))
    if (line.rfind("data: ", 0) == 0)
      out.push_back(json::parse(line.substr(6), nullptr, false));
  return out;
}

} // namespace

TEST_CASE("a call a rule sends to a group of members runs there with progress and cancellation relayed, "
          "and a member that dies fails its calls while the fallback member serves the next") {
  three_nodes c{member_routes};
  auto r = mcp_tool_call(c.n1->http_port, "add", {{"a", 2}, {"b", 3}});
  INFO(r.body.dump());
  CHECK(r.body["result"]["structuredContent"]["sum"] == 5);
  CHECK(metric_reaching(*c.n2, member_calls("n1", "answered"), 1) == 1);
  CHECK(metric(c.n3->web_port, member_calls("n1", "answered")) == -1);
  CHECK(metric(c.n1->web_port, R"(cafmcp_route_calls_total\{route="on_n2",target="add@n2"\})") == 1);
  // Prompts too: one rule answers hello with greeting here, another has n2 answer greeting.
  auto hello = prompt_get(c.n3->http_port, "hello", {{"name", "Ann"}});
  INFO(hello.dump());
  CHECK(hello["result"]["messages"][0]["content"]["text"] == "Greet Ann in a casual way.");
  auto greeting = prompt_get(c.n1->http_port, "greeting", {{"name", "Bob"}});
  INFO(greeting.dump());
  CHECK(greeting["result"]["messages"][0]["content"]["text"] == "Greet Bob in a casual way.");
  CHECK(greeting["result"]["resultType"] == "complete");
  // And resources: one rule reads another URI here, another has n2 read the echoes.
  auto alias = resource_read(c.n3->http_port, "cafmcp://alias/info");
  INFO(alias.dump());
  CHECK(alias["result"]["contents"][0]["uri"] == "cafmcp://server/info");
  auto echoed = resource_read(c.n1->http_port, "cafmcp://echo/hi");
  INFO(echoed.dump());
  CHECK(echoed["result"]["contents"][0]["text"] == "hi");
  CHECK(metric(c.n1->web_port, R"(cafmcp_route_calls_total\{route="echoes_on_n2",target="cafmcp://echo/hi@n2"\})") == 1);
  CHECK(metric_reaching(*c.n2, member_calls("n1", "answered"), 3) == 3);
  auto missing = prompt_get(c.n1->http_port, "greeting", json::object()); // the member's own check
  CHECK(missing["error"]["code"] == -32602);
  CHECK(missing["error"]["message"] == "member n2: missing required prompt argument \"name\"");
  // n2 itself runs it here: a group naming the node is this node.
  CHECK(ok(mcp_tool_call(c.n2->http_port, "add", {{"a", 1}, {"b", 1}}).body));
  CHECK(metric(c.n2->web_port, R"(cafmcp_route_calls_total\{route="on_n2",target="add"\})") == 1);

  // Progress comes back as it happens, then the result.
  auto events = sleep_with_progress(c.n3->http_port, 350);
  REQUIRE(events.size() >= 3);
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    CHECK(events[i]["method"] == "notifications/progress");
    CHECK(events[i]["params"]["progressToken"] == "p1");
  }
  CHECK(ok(events.back()));
  CHECK(metric_reaching(*c.n2, member_calls("n3", "answered"), 1) == 1);

  // A client that goes away cancels the call there.
  auto gone = mcp_tool_call(c.n1->http_port, "sleep", {{"ms", 30000}}, 600ms);
  CHECK(gone.status == 0);
  CHECK(metric_reaching(*c.n2, member_calls("n1", "cancelled"), 1) == 1);
  CHECK(metric_reaching(*c.n2, "cafmcp_member_calls_running", 0) == 0);

  // Past cluster.member_call_timeout_ms (3 s here) the call fails, and is cancelled there.
  auto slow = mcp_tool_call(c.n1->http_port, "sleep", {{"ms", 20000}}, 15s);
  INFO(slow.body.dump());
  CHECK(slow.body["error"]["code"] == -32603);
  CHECK(slow.body["error"]["message"] == "member n2 did not answer within 3000 ms (cluster.member_call_timeout_ms); "
                                         "the call was cancelled there");
  CHECK(metric_reaching(*c.n2, member_calls("n1", "cancelled"), 2) == 2);

  // A member runs what it was sent, never routed again: echo goes to n2 or
  // n3 from here, and neither sends it on to the other.
  for (int i = 0; i < 20; ++i)
    CHECK(text_of(mcp_tool_call(c.n1->http_port, "echo", {{"text", "x"}}).body) == "x");
  auto routed_to = [&](const std::string& target) { // -1: none went there
    return std::max(0.0, metric(c.n1->web_port, R"(cafmcp_route_calls_total\{route="echo_anywhere",target=")" + target + R"("\})"));
  };
  CHECK(routed_to("echo@n2") + routed_to("echo@n3") == 20);
  CHECK(metric(c.n3->web_port, member_calls("n2", "answered")) == -1);
  CHECK(metric(c.n2->web_port, member_calls("n3", "answered")) == 1); // the sleep above, from n3
  auto on_n3 = metric(c.n3->web_port, member_calls("n1", "answered"));

  // The member dies during a call: the call fails, naming it, long before its 30 s.
  auto running = std::async(std::launch::async, [&] { return mcp_tool_call(c.n1->http_port, "sleep", {{"ms", 30000}}, 25s); });
  REQUIRE(metric_reaching(*c.n2, "cafmcp_member_calls_running", 1) == 1);
  auto killed_at = std::chrono::steady_clock::now();
  c.n2->proc->signal(SIGKILL);
  c.n2->proc->wait_exit(10s);
  auto failed = running.get();
  INFO(failed.body.dump());
  CHECK(failed.body["error"]["code"] == -32603);
  CHECK(failed.body["error"]["data"]["member"] == "n2");
  CHECK(std::chrono::steady_clock::now() - killed_at < 10s);
  // Once n1 sees n2 gone, add goes down the fallback chain to n3.
  REQUIRE(wait_status(c.dir, *c.n1, c.cookie, [](const json& rows) {
    auto n2 = row_of(rows, "n2");
    return n2.is_null() || n2["state"] != "up" || n2["side"] == "unreachable";
  }));
  auto fallback = mcp_tool_call(c.n1->http_port, "add", {{"a", 4}, {"b", 4}});
  INFO(fallback.body.dump());
  CHECK(fallback.body["result"]["structuredContent"]["sum"] == 8);
  CHECK(metric_reaching(*c.n3, member_calls("n1", "answered"), std::max(0.0, on_n3) + 1) == std::max(0.0, on_n3) + 1);
  CHECK(metric(c.n1->web_port, R"(cafmcp_route_fallbacks_total\{route="on_n2"\})") == 1);
}

TEST_CASE("a tenant added with cafmcp tenants add is applied on every member with one version - its clients hear their lists changed, and removed it sees everything again") {
  three_nodes c{tenant_header_config()};
  auto only_echo = [](const std::vector<std::string>& tools) { return tools == std::vector<std::string>{"echo"}; };
  auto everything = [](const std::vector<std::string>& tools) {
    return std::find(tools.begin(), tools.end(), "add") != tools.end() && tools.size() > 1;
  };
  REQUIRE(lists_on_every_member(c, "acme", everything));
  // A client of acme on n3 listens for list changes.
  auto [lh, lbody] = tenant_request("subscriptions/listen", json{{"notifications", {{"toolsListChanged", true}}}}, "acme");
  http_stream listen{c.n3->http_port, "POST", "/mcp", lh, lbody.dump()};
  REQUIRE(listen.wait_for("notifications/subscriptions/acknowledged", 10s));

  auto add = tenants(c, *c.n2, {"add", "acme", R"({"tools": ["echo"]})"});
  INFO(add.err);
  REQUIRE(add.code == 0);
  CHECK(add.out.rfind("tenant acme added: version 2, applied on n1, n2, n3\n", 0) == 0);
  CHECK(listen.wait_for("notifications/tools/list_changed", 10s));
  CHECK(lists_on_every_member(c, "acme", only_echo));
  CHECK(lists_on_every_member(c, "beta", everything)); // other tenants are as they were
  for (auto* n : {c.n1.get(), c.n2.get(), c.n3.get()}) {
    auto [h, body] = tenant_request("tools/call", json{{"name", "add"}, {"arguments", {{"a", 1}, {"b", 2}}}}, "acme");
    auto r = json::parse(http_request(n->http_port, "POST", "/mcp", h, body.dump()).body, nullptr, false);
    INFO(n->name << ": " << r.dump());
    CHECK(r["error"]["code"] == -32602); // a tool outside its view does not exist for it
  }
  auto list = tenants(c, *c.n1, {"list", "--json"});
  auto listed = json::parse(list.out, nullptr, false);
  REQUIRE(listed.is_array());
  CHECK(listed.size() == 3);
  for (auto& m : listed) {
    CHECK(m["version"] == 2);
    CHECK(m["tenants"]["acme"] == json{{"tools", {"echo"}}, {"deny_tools", json::array()}, {"rate", ""}});
  }
  CHECK(audited_ops(c, "n2") == std::vector<std::string>{"tenants_add requested"});

  // Refused, and nothing changes: a bad entry (usage, 2), a name in use, a viewer.
  auto bad = tenants(c, *c.n1, {"add", "beta", R"({"rate": "fast"})"});
  CHECK(bad.code == 2);
  CHECK(bad.err.find("\"tenants.beta.rate\"") != std::string::npos);
  auto again = tenants(c, *c.n1, {"add", "acme", "{}"});
  CHECK(again.code == 1);
  CHECK(again.err.find("tenant acme exists already") != std::string::npos);
  auto viewer = tenants(c, *c.n1, {"remove", "acme"}, "viewer");
  CHECK(viewer.code == 1);
  CHECK(viewer.err.find("tenants_remove needs role admin; the caller's role is viewer") != std::string::npos);
  auto missing = tenants(c, *c.n1, {"remove", "nobody"});
  CHECK(missing.code == 1);
  CHECK(missing.err.find("no tenant nobody (rules version 2)") != std::string::npos);

  auto remove = tenants(c, *c.n3, {"remove", "acme"});
  INFO(remove.err);
  REQUIRE(remove.code == 0);
  CHECK(remove.out.rfind("tenant acme removed: version 3, applied on n1, n2, n3\n", 0) == 0);
  CHECK(lists_on_every_member(c, "acme", everything));
}
