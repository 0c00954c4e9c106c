// Circuit breakers and rate limits on the request path, as a client and an
// operator see them: the real binary, HTTP and stdio, /metrics, the log.

#include <regex>
#include <sstream>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "tests/support/guarded_node.hpp"

using namespace cafmcp::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

/// A stateless tools/call with its whole HTTP reply (status, headers).
http_reply modern_call(uint16_t port, const std::string& tool, const json& args) {
  return mcp_post_tool_call(port, mcp_tool_call_body(tool, args));
}

json error_of(const http_reply& r) {
  auto j = json::parse(r.body, nullptr, false);
  return j.is_object() && j.contains("error") ? j["error"] : json{{"no error in", r.body}};
}

json legacy_call(int id, const std::string& tool, const json& args) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"method", "tools/call"}, {"params", {{"name", tool}, {"arguments", args}}}};
}

/// Starts a legacy session; its id ("" if none).
std::string legacy_session(uint16_t port) {
  auto r = legacy_post(port, "",
                       {{"jsonrpc", "2.0"},
                        {"id", 1},
                        {"method", "initialize"},
                        {"params",
                         {{"protocolVersion", "2025-06-18"},
                          {"capabilities", json::object()},
                          {"clientInfo", {{"name", "t"}, {"version", "1"}}}}}});
  auto i = r.headers.find("mcp-session-id");
  return i == r.headers.end() ? "" : i->second;
}

} // namespace

TEST_CASE("a tool that fails every time opens its circuit after the threshold - other tools are unaffected") {
  guarded_node node{R"({"circuit_breaker": {"failure_threshold": 3, "open_timeout_ms": 60000}})", {},
                    NOTES_SERVER_BINARY};
  for (int i = 0; i < 3; ++i) {
    auto r = modern_call(node.port, "always_fails", json::object());
    CHECK(error_of(r)["code"] == -32603); // the handler ran and threw
  }
  REQUIRE(node.proc->wait_for_stderr_line(
    std::regex{R"(\S+ warning +(\S+ )?/root/core_sup/circuit_breakers: circuit tool:always_fails opened after 3 )"
               R"(consecutive failure\(s\); calls are refused for 60\.0 s, then one trial call goes \[correlation_id \S+\])"},
    10s));
  // Open: refused at once, without running the handler, saying when to retry.
  auto refused = modern_call(node.port, "always_fails", json::object());
  CHECK(refused.status == 503);
  auto e = error_of(refused);
  CHECK(e["code"] == -32031);
  CHECK(e["data"]["breaker"] == "tool:always_fails");
  CHECK(e["data"]["retryAfterMs"].get<int64_t>() > 50000);
  CHECK(e["message"].get<std::string>().rfind("Tool always_fails is unavailable: its circuit opened after 3", 0) == 0);
  CHECK(refused.headers["retry-after"] == std::to_string((e["data"]["retryAfterMs"].get<int64_t>() + 999) / 1000));
  // Other tools are served as before.
  for (int i = 0; i < 5; ++i)
    CHECK(node.echo() == 200);
  CHECK(node.metric(R"(cafmcp_circuit_breaker_state{key="tool:always_fails"})") == 2);
  CHECK(node.metric(R"(cafmcp_circuit_breaker_state{key="tool:echo"})") == 0);
  CHECK(node.metric(R"(cafmcp_circuit_breaker_opened_total{key="tool:always_fails"})") == 1);
  CHECK(node.metric(R"(cafmcp_circuit_breaker_rejections_total{key="tool:always_fails"})") == 1);
}

TEST_CASE("a tool's failures open no circuit when circuit_breaker.enabled is false") {
  guarded_node node{R"({"circuit_breaker": {"enabled": false, "failure_threshold": 1}})", {}, NOTES_SERVER_BINARY};
  for (int i = 0; i < 3; ++i)
    CHECK(error_of(modern_call(node.port, "always_fails", json::object()))["code"] == -32603);
}

TEST_CASE("a client over its rate limit gets 429 with Retry-After while another client is served") {
  // One token every 10 s: none comes back during the test, however slow the machine.
  guarded_node node{R"({"rate_limiter": {"enabled": true, "capacity": 3, "refill_per_second": 0.1}})"};
  // Two legacy sessions are two clients (the initializes count against the address).
  auto a = legacy_session(node.port);
  auto b = legacy_session(node.port);
  REQUIRE(!a.empty());
  REQUIRE(!b.empty());
  for (int i = 0; i < 3; ++i)
    CHECK(legacy_post(node.port, a, legacy_call(10 + i, "echo", {{"text", "x"}})).status == 200);
  auto over = legacy_post(node.port, a, legacy_call(20, "echo", {{"text", "x"}}));
  CHECK(over.status == 429);
  auto e = error_of(over);
  CHECK(e["code"] == -32029);
  CHECK(e["data"]["limit"] == "client");
  auto after_ms = e["data"]["retryAfterMs"].get<int64_t>();
  CHECK(after_ms > 5000); // about 10 s for one token at 0.1 a second
  CHECK(after_ms <= 10000);
  CHECK(over.headers["retry-after"] == std::to_string((after_ms + 999) / 1000));
  CHECK(e["message"].get<std::string>().rfind("Rate limit exceeded for this client: retry after ", 0) == 0);
  // The other client is not limited.
  for (int i = 0; i < 3; ++i)
    CHECK(legacy_post(node.port, b, legacy_call(30 + i, "echo", {{"text", "y"}})).status == 200);
  CHECK(node.metric(R"(cafmcp_rate_limit_rejections_total{limit="client"})") == 1);
  CHECK(node.metric("cafmcp_rate_limit_keys") >= 2);
}

TEST_CASE("a tool's rate limit holds for all clients together and leaves other tools alone") {
  guarded_node node{R"({"rate_limiter": {"tools": ["add=2/0.1"]}})"};
  CHECK(modern_call(node.port, "add", {{"a", 1}, {"b", 2}}).status == 200);
  CHECK(modern_call(node.port, "add", {{"a", 1}, {"b", 2}}).status == 200);
  auto over = modern_call(node.port, "add", {{"a", 1}, {"b", 2}});
  CHECK(over.status == 429);
  CHECK(error_of(over)["data"]["limit"] == "tool:add");
  CHECK(error_of(over)["message"].get<std::string>().rfind("Rate limit exceeded for tool add: retry after ", 0) == 0);
  CHECK(std::stoi(over.headers["retry-after"]) >= 1);
  // No client limit is configured: other tools go on.
  for (int i = 0; i < 5; ++i)
    CHECK(node.echo() == 200);
  CHECK(node.metric(R"(cafmcp_rate_limit_rejections_total{limit="tool"})") == 1);
}

TEST_CASE("over stdio a client over its rate limit gets a JSON-RPC error whose data carries retryAfterMs") {
  temp_dir dir;
  auto cfg = dir.write("node.json", R"({"rate_limiter": {"enabled": true, "capacity": 2, "refill_per_second": 0.05}})");
  process node{{CAFMCP_BINARY, "node", "--stdio", "--config", cfg}, dir.path(), true};
  std::string input;
  for (int id = 1; id <= 3; ++id)
    input += json{{"jsonrpc", "2.0"}, {"id", id}, {"method", "ping"}}.dump() + "\n";
  node.write_stdin(input);
  REQUIRE(node.wait_for_stdout_lines(3, 20s));
  node.close_stdin();
  CHECK(node.wait_exit(20s) == 0);
  std::vector<json> replies;
  std::istringstream out{node.out()};
  for (std::string line; std::getline(out, line);)
    if (!line.empty())
      replies.push_back(json::parse(line));
  REQUIRE(replies.size() == 3);
  CHECK(replies[0].contains("result"));
  CHECK(replies[1].contains("result"));
  CHECK(replies[2]["id"] == 3);
  CHECK(replies[2]["error"]["code"] == -32029);
  CHECK(replies[2]["error"]["data"]["retryAfterMs"].get<int64_t>() > 10000); // one token at 0.05 a second: 20 s
}

TEST_CASE("a malformed per-tool rate limit is refused with exit code 2 naming the entry") {
  temp_dir dir;
  auto cfg = dir.write("node.json", R"({"rate_limiter": {"tools": ["echo=5/1", "add"]}})");
  process node{{CAFMCP_BINARY, "node", "--http-port", "0", "--metrics-port", "0", "--config", cfg}, dir.path()};
  CHECK(node.wait_exit(20s) == 2);
  CHECK(node.err().find(R"("rate_limiter.tools[1]": must be NAME=CAPACITY/PER_SECOND)") != std::string::npos);
}
