// A cafmcp node serving another cafmcp node's tools as a Streamable HTTP
// upstream: real processes, kill -9 of the upstream node, its return.

#include <algorithm>
#include <csignal>
#include <iterator>
#include <regex>
#include <thread>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "tests/support/mcp_call.hpp"
#include "tests/support/net.hpp"
#include "tests/support/node_ready.hpp"
#include "tests/support/process.hpp"

using namespace cafmcp::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const std::string binary = CAFMCP_BINARY;

std::string text_of(const mcp_reply& r) {
  auto& c = r.body["result"]["content"];
  return c.is_array() && !c.empty() ? c[0].value("text", "") : "";
}

} // namespace

TEST_CASE("a node serves another node's tools over Streamable HTTP under a namespace, and survives its kill -9") {
  temp_dir dir;
  auto b_port = free_port();
  auto start_b = [&] {
    return std::make_unique<process>(
      std::vector<std::string>{binary, "node", "--name", "b1", "--http-port", std::to_string(b_port), "--metrics-port", "0"},
      dir.path());
  };
  auto b = start_b();
  REQUIRE(wait_ready(*b, "b1"));
  auto config = dir.write("a.json", json{{"name", "a1"},
                                         {"upstreams",
                                          {{"b", {{"url", "http://127.0.0.1:" + std::to_string(b_port) + "/mcp"},
                                                  {"headers", {"X-From: a1"}}}}}}}
                                      .dump());
  process a{{binary, "node", "--config", config, "--http-port", "0", "--metrics-port", "0"}, dir.path()};
  auto ready = wait_ready(a, "a1");
  REQUIRE(ready);
  // Its tools were listed before the ready line.
  CHECK(a.err().find("upstream b ready (http://127.0.0.1:" + std::to_string(b_port) + "/mcp, cafmcp ") != std::string::npos);

  auto echo = mcp_tool_call(ready->mcp_port, "b.echo", json{{"text", "over http"}});
  CHECK(echo.status == 200);
  CHECK(text_of(echo) == "over http");
  auto sum = mcp_tool_call(ready->mcp_port, "b.add", json{{"a", 2}, {"b", 3}});
  CHECK(sum.body["result"]["structuredContent"]["sum"] == 5);
  // The upstream's own error answer keeps its code.
  auto missing = mcp_tool_call(ready->mcp_port, "b.session_get", json{{"handle", "nope"}, {"key", "k"}});
  CHECK(missing.body["result"]["isError"] == true);

  // kill -9 of the upstream node: a call fails with the reason, at once.
  b->signal(SIGKILL);
  REQUIRE(b->wait_exit(5s));
  auto down = mcp_tool_call(ready->mcp_port, "b.echo", json{{"text", "x"}});
  REQUIRE(down.body.contains("error"));
  CHECK(down.body["error"]["code"] == -32603);
  CHECK(std::regex_search(down.body["error"].value("message", ""),
                          std::regex{R"(^upstream b (went down while the call ran|is down) \(cannot be reached at http://127\.0\.0\.1:\d+/mcp: )"}));
  // Back on its port: the supervisor's next start finds it, calls work again.
  b = start_b();
  REQUIRE(wait_ready(*b, "b1"));
  // Its second ready line (the first came at start), bounded in time.
  std::regex ready_b{R"((^|\n)\S+ info +a1 /root/protocol_sup/upstream_sup/b: upstream b ready \(http://127\.0\.0\.1:\d+/mcp, cafmcp \S+, 6 tools\)\n)"};
  auto ready_lines = [&] {
    auto log = a.err();
    return std::distance(std::sregex_iterator(log.begin(), log.end(), ready_b), std::sregex_iterator());
  };
  for (int i = 0; i < 600 && ready_lines() < 2; ++i)
    std::this_thread::sleep_for(50ms);
  REQUIRE(ready_lines() == 2);
  auto back = mcp_tool_call(ready->mcp_port, "b.echo", json{{"text", "back"}});
  CHECK(text_of(back) == "back");
}

TEST_CASE("an upstream's input requests and log messages reach the client of the call that caused them, and the answer goes back - refused for a client without the capability") {
  temp_dir dir;
  auto b_port = free_port();
  auto b_config = dir.write("b.json", json{{"name", "b1"}, {"mcp", {{"conformance_tools", true}}}}.dump());
  process b{{binary, "node", "--config", b_config, "--http-port", std::to_string(b_port), "--metrics-port", "0"},
            dir.path()};
  REQUIRE(wait_ready(b, "b1"));
  auto a_config = dir.write(
    "a.json",
    json{{"name", "a1"}, {"upstreams", {{"b", {{"url", "http://127.0.0.1:" + std::to_string(b_port) + "/mcp"}}}}}}.dump());
  process a{{binary, "node", "--config", a_config, "--http-port", "0", "--metrics-port", "0"}, dir.path()};
  auto ready = wait_ready(a, "a1");
  REQUIRE(ready);
  // A 2026-07-28 round: the input request comes back as input_required.
  auto round = [&](json caps, json extra) {
    auto body = mcp_tool_call_body("b.test_elicitation", json{{"message", "who are you?"}});
    body["params"]["_meta"]["io.modelcontextprotocol/clientCapabilities"] = std::move(caps);
    body["params"].update(extra);
    auto r = mcp_post_tool_call(ready->mcp_port, body, 15s);
    auto j = json::parse(r.body, nullptr, false);
    REQUIRE_MESSAGE(j.is_object(), r.body);
    return j;
  };
  json elicitation{{"elicitation", json::object()}};
  auto first = round(elicitation, json::object());
  REQUIRE_MESSAGE(first["result"]["resultType"] == "input_required", first.dump());
  auto& asked = first["result"]["inputRequests"]["input"];
  CHECK(asked["method"] == "elicitation/create");
  CHECK(asked["params"]["message"] == "who are you?"); // the upstream's own request
  auto state = first["result"]["requestState"];
  REQUIRE(state.is_string());
  json answer{{"action", "accept"}, {"content", {{"username", "ann"}, {"email", "ann@example.com"}}}};
  auto second = round(elicitation, json{{"inputResponses", {{"input", answer}}}, {"requestState", state}});
  CHECK_MESSAGE(text_of(second) == R"(User response: action=accept, content={"email":"ann@example.com","username":"ann"})",
                second.dump());
  // The upstream call it continued is over: the same round again is refused.
  auto again = round(elicitation, json{{"inputResponses", {{"input", answer}}}, {"requestState", state}});
  CHECK(again["error"]["code"] == -32602);
  CHECK(again["error"]["message"].get<std::string>().rfind("upstream b no longer waits for this answer", 0) == 0);

  // The upstream's log messages for the call reach its client, as its own tools' do.
  auto body = mcp_tool_call_body("b.test_tool_with_logging", json::object());
  body["params"]["_meta"]["io.modelcontextprotocol/logLevel"] = "info";
  auto logged = mcp_post_tool_call(ready->mcp_port, body, 15s);
  std::regex log_event{R"(data: \{[^\n]*"method":"notifications/message")"};
  auto logs = std::distance(std::sregex_iterator(logged.body.begin(), logged.body.end(), log_event), std::sregex_iterator());
  CHECK_MESSAGE(logs == 3, logged.body);

  // A client that did not declare elicitation: the upstream hears so, and answers the call.
  auto without = round(json::object(), json::object());
  CHECK(without["result"]["isError"] == true);
  CHECK_MESSAGE(text_of(without).find("the client of this call did not declare elicitation") != std::string::npos,
                without.dump());
}

namespace {

/// The URIs of a node's resources/list (2026-07-28, one page).
std::vector<std::string> resource_uris(uint16_t port) {
  json body{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "resources/list"},
            {"params", {{"_meta", {{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
                                   {"io.modelcontextprotocol/clientCapabilities", json::object()}}}}}};
  auto r = http_request(port, "POST", "/mcp",
                        {{"Content-Type", "application/json"}, {"Accept", "application/json, text/event-stream"},
                         {"MCP-Protocol-Version", "2026-07-28"}, {"Mcp-Method", "resources/list"}},
                        body.dump(), 10s);
  std::vector<std::string> out;
  auto j = json::parse(r.body, nullptr, false);
  if (j.is_object() && j["result"]["resources"].is_array())
    for (auto& res : j["result"]["resources"])
      out.push_back(res.value("uri", ""));
  return out;
}

} // namespace

TEST_CASE("an HTTP upstream's own stream is read: a resource it adds outside any request reaches the node's catalog") {
  temp_dir dir;
  auto b_port = free_port();
  process b{{NOTES_SERVER_BINARY, "node", "--name", "b1", "--http-port", std::to_string(b_port), "--metrics-port", "0"},
            dir.path()};
  REQUIRE(wait_ready(b, "b1"));
  auto config = dir.write(
    "a.json",
    json{{"name", "a1"}, {"upstreams", {{"notes", {{"url", "http://127.0.0.1:" + std::to_string(b_port) + "/mcp"}}}}}}.dump());
  process a{{binary, "node", "--config", config, "--http-port", "0", "--metrics-port", "0"}, dir.path()};
  auto ready = wait_ready(a, "a1");
  REQUIRE(ready);
  auto has_board = [&] {
    auto uris = resource_uris(ready->mcp_port);
    return std::find(uris.begin(), uris.end(), "notes://board/news") != uris.end();
  };
  CHECK_FALSE(has_board());
  // board_post adds the resource; the upstream announces it (list_changed)
  // on its GET stream only, not on the call's response.
  auto posted = mcp_tool_call(ready->mcp_port, "notes.board_post", json{{"topic", "news"}, {"text", "hello"}});
  CHECK(text_of(posted) == "1 post(s) on news");
  bool listed = false;
  for (int i = 0; i < 100 && !(listed = has_board()); ++i) // bounded: 10 s
    std::this_thread::sleep_for(100ms);
  CHECK(listed);
  a.signal(SIGTERM);
  CHECK(a.wait_exit(20s) == 0);
  b.signal(SIGTERM);
  CHECK(b.wait_exit(20s) == 0);
}
