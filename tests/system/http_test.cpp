// `cafmcp node` over Streamable HTTP, as a client sees it on the wire.

#include <csignal>
#include <regex>
#include <thread>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "tests/support/http_client.hpp"
#include "tests/support/node_ready.hpp"
#include "tests/support/process.hpp"

using namespace cafmcp::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const std::string binary = CAFMCP_BINARY;
using headers = std::vector<std::pair<std::string, std::string>>;

/// A node on a free port, stopped (SIGTERM, exit 0 checked) at the end.
struct http_node {
  temp_dir dir;
  std::unique_ptr<process> proc;
  uint16_t port = 0;

  explicit http_node(std::vector<std::string> extra = {}, const std::string& bin = binary) {
    std::vector<std::string> args{bin, "node", "--http-port", "0", "--metrics-port", "0"};
    args.insert(args.end(), extra.begin(), extra.end());
    proc = std::make_unique<process>(args, dir.path());
    auto ready = wait_ready(*proc);
    REQUIRE(ready);
    REQUIRE(ready->mcp_port != 0);
    port = ready->mcp_port;
  }

  ~http_node() {
    proc->signal(SIGTERM);
    CHECK(proc->wait_exit(20s) == 0);
  }

  http_reply post(const json& body, headers extra = {}) {
    headers h{{"Content-Type", "application/json"}, {"Accept", "application/json, text/event-stream"}};
    h.insert(h.end(), extra.begin(), extra.end());
    return http_request(port, "POST", "/mcp", h, body.dump());
  }

  /// A stateless (2026-07-28) request with the headers the spec requires.
  http_reply modern(const std::string& method, json params, headers extra = {}, int id = 1,
                    json caps = json::object()) {
    auto [h, body] = modern_request(method, std::move(params), std::move(extra), id, std::move(caps));
    return http_request(port, "POST", "/mcp", h, body.dump());
  }

  /// The headers and body of a modern request (for http_stream).
  static std::pair<headers, json> modern_request(const std::string& method, json params, headers extra = {},
                                                 int id = 1, json caps = json::object()) {
    params["_meta"] = {{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
                       {"io.modelcontextprotocol/clientCapabilities", std::move(caps)}};
    headers h{{"Content-Type", "application/json"},
              {"Accept", "application/json, text/event-stream"},
              {"MCP-Protocol-Version", "2026-07-28"},
              {"Mcp-Method", method}};
    bool named = false;
    for (auto& [k, v] : extra)
      named = named || k == "Mcp-Name";
    for (auto key : {"name", "uri", "taskId"})
      if (!named && params.contains(key))
        h.push_back({"Mcp-Name", params[key].get<std::string>()});
    h.insert(h.end(), extra.begin(), extra.end());
    return {h, json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}}};
  }
};

json body_of(const http_reply& r) {
  auto j = json::parse(r.body, nullptr, false);
  return j.is_discarded() ? json{{"unparsable", r.body}} : j;
}

} // namespace

TEST_CASE("one stateless POST calls a tool (MCP 2026-07-28)") {
  http_node node;
  auto r = node.modern("tools/call", json{{"name", "echo"}, {"arguments", {{"text", "hi"}}}});
  CHECK(r.status == 200);
  CHECK(r.headers["content-type"] == "application/json");
  auto b = body_of(r);
  CHECK(b["result"]["content"][0]["text"] == "hi");
  CHECK(b["result"]["resultType"] == "complete");
  auto d = body_of(node.modern("server/discover", json::object()));
  CHECK(d["result"]["supportedVersions"][0] == "2026-07-28");
}

TEST_CASE("modern headers are checked against the body") {
  http_node node;
  auto params = json{{"name", "echo"}, {"arguments", {{"text", "x"}}}};
  // Mcp-Name that does not match: 400 with -32020.
  auto bad_name = node.post(json{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "tools/call"},
                                 {"params", {{"name", "echo"}, {"arguments", {{"text", "x"}}},
                                             {"_meta", {{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
                                                        {"io.modelcontextprotocol/clientCapabilities", json::object()}}}}}},
                            {{"MCP-Protocol-Version", "2026-07-28"}, {"Mcp-Method", "tools/call"}, {"Mcp-Name", "add"}});
  CHECK(bad_name.status == 400);
  CHECK(body_of(bad_name)["error"]["code"] == -32020);
  // A base64-encoded Mcp-Name is decoded before the comparison ("echo").
  auto encoded = node.post(json{{"jsonrpc", "2.0"}, {"id", 2}, {"method", "tools/call"},
                                {"params", {{"name", "echo"}, {"arguments", {{"text", "x"}}},
                                            {"_meta", {{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
                                                       {"io.modelcontextprotocol/clientCapabilities", json::object()}}}}}},
                           {{"MCP-Protocol-Version", "2026-07-28"}, {"Mcp-Method", "tools/call"}, {"Mcp-Name", "=?base64?ZWNobw==?="}});
  CHECK(encoded.status == 200);
  // Missing Mcp-Method, or a version header that differs from the body.
  auto no_method = node.post(json{{"jsonrpc", "2.0"}, {"id", 3}, {"method", "tools/list"},
                                  {"params", {{"_meta", {{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
                                                         {"io.modelcontextprotocol/clientCapabilities", json::object()}}}}}},
                             {{"MCP-Protocol-Version", "2026-07-28"}});
  CHECK(no_method.status == 400);
  CHECK(body_of(no_method)["error"]["code"] == -32020);
  // An unknown method is 404 with -32601; an unsupported version 400 with -32022.
  auto unknown = node.modern("no/such", json::object());
  CHECK(unknown.status == 404);
  CHECK(body_of(unknown)["error"]["code"] == -32601);
  auto old = node.post(json{{"jsonrpc", "2.0"}, {"id", 4}, {"method", "tools/list"},
                            {"params", {{"_meta", {{"io.modelcontextprotocol/protocolVersion", "2099-01-01"},
                                                   {"io.modelcontextprotocol/clientCapabilities", json::object()}}}}}},
                       {{"MCP-Protocol-Version", "2099-01-01"}, {"Mcp-Method", "tools/list"}});
  CHECK(old.status == 400);
  CHECK(body_of(old)["error"]["code"] == -32022);
  // The 2026-07-28 header on a body without _meta: -32602, naming what is
  // missing (was -32600 "Unsupported MCP-Protocol-Version: 2026-07-28").
  auto no_meta = node.post(json{{"jsonrpc", "2.0"}, {"id", 5}, {"method", "tools/list"}},
                           {{"MCP-Protocol-Version", "2026-07-28"}, {"Mcp-Method", "tools/list"}});
  CHECK(no_meta.status == 400);
  CHECK(body_of(no_meta)["id"] == 5);
  CHECK(body_of(no_meta)["error"]["code"] == -32602);
  CHECK(body_of(no_meta)["error"]["message"].get<std::string>().find("params (with params._meta) is missing")
        != std::string::npos);
  // A version header of no known revision, on a body of no revision: -32022 with the supported list.
  auto unknown_header = node.post(json{{"jsonrpc", "2.0"}, {"id", 6}, {"method", "tools/list"}},
                                  {{"MCP-Protocol-Version", "2099-01-01"}});
  CHECK(unknown_header.status == 400);
  CHECK(body_of(unknown_header)["error"]["code"] == -32022);
  CHECK(body_of(unknown_header)["error"]["data"]["requested"] == "2099-01-01");
  CHECK(body_of(unknown_header)["error"]["data"]["supported"][0] == "2026-07-28");
  // A stateless client has no GET stream.
  CHECK(http_request(node.port, "GET", "/mcp", {{"Accept", "text/event-stream"}}).status == 405);
}

TEST_CASE("a legacy session: initialize gives Mcp-Session-Id, requests need it, DELETE ends it") {
  http_node node;
  auto init = node.post(json{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "initialize"},
                             {"params", {{"protocolVersion", "2025-06-18"}, {"capabilities", json::object()},
                                         {"clientInfo", {{"name", "t"}, {"version", "1"}}}}}});
  CHECK(init.status == 200);
  auto sid = init.headers["mcp-session-id"];
  REQUIRE(sid.size() == 32);
  CHECK(body_of(init)["result"]["protocolVersion"] == "2025-06-18");
  headers with_session{{"Mcp-Session-Id", sid}, {"MCP-Protocol-Version", "2025-06-18"}};
  CHECK(node.post(json{{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}}, with_session).status == 202);
  auto call = node.post(json{{"jsonrpc", "2.0"}, {"id", 2}, {"method", "tools/call"},
                             {"params", {{"name", "session_set"}, {"arguments", {{"key", "k"}, {"value", "v"}}}}}},
                        with_session);
  CHECK(body_of(call)["result"]["content"][0]["text"] == "ok");
  auto get = node.post(json{{"jsonrpc", "2.0"}, {"id", 3}, {"method", "tools/call"},
                            {"params", {{"name", "session_get"}, {"arguments", {{"key", "k"}}}}}},
                       with_session);
  CHECK(body_of(get)["result"]["content"][0]["text"] == "v");
  // Without the header: 400; with an unknown id: 404.
  CHECK(node.post(json{{"jsonrpc", "2.0"}, {"id", 4}, {"method", "tools/list"}}).status == 400);
  CHECK(node.post(json{{"jsonrpc", "2.0"}, {"id", 5}, {"method", "tools/list"}}, {{"Mcp-Session-Id", "nope"}}).status
        == 404);
  // An unsupported MCP-Protocol-Version header: 400.
  CHECK(node.post(json{{"jsonrpc", "2.0"}, {"id", 6}, {"method", "tools/list"}},
                  {{"Mcp-Session-Id", sid}, {"MCP-Protocol-Version", "1999-01-01"}})
          .status
        == 400);
  CHECK(http_request(node.port, "DELETE", "/mcp", {{"Mcp-Session-Id", sid}}).status == 204);
  CHECK(node.post(json{{"jsonrpc", "2.0"}, {"id", 7}, {"method", "tools/list"}}, with_session).status == 404);
  CHECK(http_request(node.port, "DELETE", "/mcp", {{"Mcp-Session-Id", sid}}).status == 404);
}

TEST_CASE("malformed, forbidden, unacceptable and oversized requests are refused") {
  temp_dir cfg_dir;
  auto cfg = cfg_dir.write("node.json", R"({"mcp": {"max_message_bytes": 4096}})");
  http_node node{{"--config", cfg}};
  auto malformed = http_request(node.port, "POST", "/mcp",
                                {{"Content-Type", "application/json"}, {"Accept", "application/json, text/event-stream"}},
                                "{not json");
  CHECK(malformed.status == 400);
  CHECK(body_of(malformed)["error"]["code"] == -32700);
  auto overflow = http_request(node.port, "POST", "/mcp",
                               {{"Content-Type", "application/json"}, {"Accept", "application/json, text/event-stream"}},
                               R"({"jsonrpc":"2.0","id":1,"method":"ping","params":{"n":1E999}})");
  CHECK(overflow.status == 400);
  CHECK(body_of(overflow)["error"]["code"] == -32700);
  auto evil = node.post(json{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "ping"}}, {{"Origin", "https://evil.example"}});
  CHECK(evil.status == 403);
  CHECK(node.post(json{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "ping"}}, {{"Origin", "http://localhost:3000"}}).status
        != 403);
  CHECK(http_request(node.port, "POST", "/mcp", {{"Content-Type", "application/json"}, {"Accept", "application/json"}}, "{}")
          .status
        == 406);
  CHECK(http_request(node.port, "POST", "/mcp", {{"Content-Type", "text/plain"}, {"Accept", "application/json, text/event-stream"}}, "{}")
          .status
        == 415);
  auto big = node.modern("tools/call", json{{"name", "echo"}, {"arguments", {{"text", std::string(100000, 'x')}}}});
  CHECK(big.status == 413);
  CHECK(http_request(node.port, "POST", "/elsewhere", {}).status == 404);
  CHECK(http_request(node.port, "PUT", "/mcp", {}).status == 405);
  // Still serving.
  CHECK(body_of(node.modern("tools/call", json{{"name", "echo"}, {"arguments", {{"text", "ok"}}}}))["result"]["content"][0]["text"]
        == "ok");
}

TEST_CASE("a call that reports progress is answered as an SSE stream") {
  http_node node;
  auto params = json{{"name", "sleep"}, {"arguments", {{"ms", 250}}}};
  params["_meta"] = {{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
                     {"io.modelcontextprotocol/clientCapabilities", json::object()},
                     {"progressToken", "t1"}};
  auto r = node.post(json{{"jsonrpc", "2.0"}, {"id", 9}, {"method", "tools/call"}, {"params", params}},
                     {{"MCP-Protocol-Version", "2026-07-28"}, {"Mcp-Method", "tools/call"}, {"Mcp-Name", "sleep"}});
  CHECK(r.status == 200);
  CHECK(r.headers["content-type"] == "text/event-stream");
  auto events = sse_data(r.body);
  REQUIRE(events.size() == 4);
  CHECK(json::parse(events[0])["method"] == "notifications/progress");
  CHECK(json::parse(events[2])["params"]["progress"] == 250);
  CHECK(json::parse(events[3])["result"]["structuredContent"]["slept_ms"] == 250);
}

TEST_CASE("a node whose HTTP port is taken fails to start with exit code 1 and says why") {
  http_node first;
  temp_dir dir;
  process second{{binary, "node", "--http-port", std::to_string(first.port), "--metrics-port", "0"}, dir.path()};
  auto code = second.wait_exit(20s);
  REQUIRE(code);
  CHECK(*code == 1);
  CHECK(second.err().find("cannot listen on 127.0.0.1:" + std::to_string(first.port)) != std::string::npos);
}

TEST_CASE("an idle legacy session ends after the session TTL: its actor stops and the client gets 404") {
  temp_dir cfg_dir;
  auto cfg = cfg_dir.write("node.json", R"({"sessions": {"ttl_ms": 1000}})");
  http_node node{{"--config", cfg}};
  auto init = node.post(json{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "initialize"},
                             {"params", {{"protocolVersion", "2025-11-25"}, {"capabilities", json::object()},
                                         {"clientInfo", {{"name", "t"}, {"version", "1"}}}}}});
  auto sid = init.headers["mcp-session-id"];
  REQUIRE(!sid.empty());
  REQUIRE(node.proc->wait_for_stderr("server_sup: started session", 10s));
  // Untouched, the session's actor ends it after the TTL (any request would renew it).
  REQUIRE(node.proc->wait_for_stderr("idle; ending it", 10s));
  CHECK(node.post(json{{"jsonrpc", "2.0"}, {"id", 2}, {"method", "ping"}}, {{"Mcp-Session-Id", sid}}).status == 404);
}

// -- server-initiated messages and tasks ------------------------------------------

namespace {

const json tasks_caps = json{{"extensions", {{"io.modelcontextprotocol/tasks", json::object()}}}};

/// notes_server (it has board_post, which changes its catalog) with SSE
/// keep-alives every 200 ms.
std::unique_ptr<http_node> board_node(temp_dir& dir) {
  auto config = dir.write("node.json", R"({"http": {"keepalive_ms": 200}})");
  return std::make_unique<http_node>(std::vector<std::string>{"--config", config}, NOTES_SERVER_BINARY);
}

} // namespace

TEST_CASE("subscriptions/listen streams list_changed and updates over SSE and ends with a result when the node stops") {
  temp_dir dir;
  auto node = board_node(dir);
  auto [h, body] = http_node::modern_request("subscriptions/listen",
                                             json{{"notifications", {{"resourcesListChanged", true}}}}, {}, 77);
  http_stream listen{node->port, "POST", "/mcp", h, body.dump()};
  REQUIRE(listen.wait_for("notifications/subscriptions/acknowledged", 10s));
  CHECK(listen.raw().find("Content-Type: text/event-stream") != std::string::npos);
  auto posted = node->modern("tools/call", json{{"name", "board_post"}, {"arguments", {{"topic", "news"}, {"text", "hello"}}}});
  CHECK(body_of(posted)["result"]["content"][0]["text"] == "1 post(s) on news");
  REQUIRE(listen.wait_for("notifications/resources/list_changed", 10s));
  auto events = sse_data(listen.raw());
  REQUIRE(events.size() == 2);
  CHECK(json::parse(events[1])["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"] == 77);
  CHECK(listen.wait_for(": keep-alive", 5s));
  // The new topic is a resource now.
  auto read = body_of(node->modern("resources/read", json{{"uri", "notes://board/news"}}));
  CHECK(read["result"]["contents"][0]["text"] == "hello\n");
  // SIGTERM: the stream gets its complete result, then ends.
  node->proc->signal(SIGTERM);
  REQUIRE(listen.wait_for("\"resultType\":\"complete\"", 10s));
  auto last = json::parse(sse_data(listen.raw()).back());
  CHECK(last["id"] == 77);
  CHECK(last["result"]["_meta"]["io.modelcontextprotocol/subscriptionId"] == 77);
  CHECK(node->proc->wait_exit(20s) == 0);
}

TEST_CASE("a legacy session's GET stream carries list_changed and updates of its subscribed resources") {
  temp_dir dir;
  auto node = board_node(dir);
  auto init = node->post(json{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "initialize"},
                              {"params", {{"protocolVersion", "2025-06-18"}, {"capabilities", json::object()},
                                          {"clientInfo", {{"name", "t"}, {"version", "1"}}}}}});
  auto sid = init.headers["mcp-session-id"];
  REQUIRE(!sid.empty());
  headers session{{"Mcp-Session-Id", sid}, {"MCP-Protocol-Version", "2025-06-18"}};
  node->post(json{{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}}, session);
  headers get_headers{{"Accept", "text/event-stream"}, {"Mcp-Session-Id", sid}};
  http_stream stream{node->port, "GET", "/mcp", get_headers};
  REQUIRE(stream.wait_for(": stream open", 10s));
  auto call = [&](int id, const std::string& method, json params) {
    return body_of(node->post(json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}}, session));
  };
  call(2, "tools/call", json{{"name", "board_post"}, {"arguments", {{"topic", "t1"}, {"text", "a"}}}});
  REQUIRE(stream.wait_for("notifications/resources/list_changed", 10s));
  CHECK(call(3, "resources/subscribe", json{{"uri", "notes://board/t1"}})["result"] == json::object());
  call(4, "tools/call", json{{"name", "board_post"}, {"arguments", {{"topic", "t1"}, {"text", "b"}}}});
  REQUIRE(stream.wait_for("notifications/resources/updated", 10s));
  CHECK(stream.raw().find("notes://board/t1") != std::string::npos);
}

TEST_CASE("DELETE of a legacy session ends its open GET stream before it answers 204") {
  http_node node;
  // Twenty sessions: answering first loses the race to the stream's end
  // only now and then.
  for (int round = 0; round < 20; ++round) {
    CAPTURE(round);
    auto init = node.post(json{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "initialize"},
                               {"params", {{"protocolVersion", "2025-06-18"}, {"capabilities", json::object()},
                                           {"clientInfo", {{"name", "t"}, {"version", "1"}}}}}});
    auto sid = init.headers["mcp-session-id"];
    REQUIRE(!sid.empty());
    node.post(json{{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}},
              {{"Mcp-Session-Id", sid}, {"MCP-Protocol-Version", "2025-06-18"}});
    http_stream stream{node.port, "GET", "/mcp", {{"Accept", "text/event-stream"}, {"Mcp-Session-Id", sid}}};
    REQUIRE(stream.wait_for(": stream open", 10s));
    auto deleted = http_request(node.port, "DELETE", "/mcp", {{"Mcp-Session-Id", sid}});
    CHECK(deleted.status == 204);
    // The stream's last chunk came first: a client closing now (the SDK v1,
    // right after terminateSession) sees its stream ended, not aborted.
    CHECK(stream.arrived("\r\n0\r\n\r\n"));
  }
}

TEST_CASE("tasks over HTTP: tools/call answers with a task, tasks/get needs Mcp-Name to be the task id") {
  http_node node;
  auto created = body_of(node.modern("tools/call", json{{"name", "sleep"}, {"arguments", {{"ms", 100}}}}, {}, 1, tasks_caps));
  REQUIRE(created["result"]["resultType"] == "task");
  auto id = created["result"]["taskId"].get<std::string>();
  json got;
  for (int i = 0; i < 50; ++i) { // bounded: 5 s
    got = body_of(node.modern("tasks/get", json{{"taskId", id}}, {}, 2, tasks_caps));
    if (got["result"]["status"] != "working")
      break;
    std::this_thread::sleep_for(100ms);
  }
  CHECK(got["result"]["status"] == "completed");
  auto wrong = node.modern("tasks/get", json{{"taskId", id}}, {{"Mcp-Name", "someone-else"}}, 3, tasks_caps);
  CHECK(wrong.status == 400);
  CHECK(body_of(wrong)["error"]["code"] == -32020);
  auto undeclared = node.modern("tasks/get", json{{"taskId", id}});
  CHECK(undeclared.status == 400);
  CHECK(body_of(undeclared)["error"]["code"] == -32021);
}
