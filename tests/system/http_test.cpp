// `cafmcp node` over Streamable HTTP, as a client sees it on the wire.

#include <csignal>
#include <regex>
#include <thread>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "tests/support/http_client.hpp"
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

  explicit http_node(std::vector<std::string> extra = {}) {
    std::vector<std::string> args{binary, "node", "--http-port", "0"};
    args.insert(args.end(), extra.begin(), extra.end());
    proc = std::make_unique<process>(args, dir.path());
    REQUIRE(proc->wait_for_stderr("MCP endpoint http://", 20s));
    std::smatch m;
    auto log = proc->err();
    REQUIRE(std::regex_search(log, m, std::regex{R"(MCP endpoint http://127\.0\.0\.1:(\d+)/mcp)"}));
    port = static_cast<uint16_t>(std::stoi(m[1]));
    REQUIRE(proc->wait_for_stderr("ready", 20s));
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
  http_reply modern(const std::string& method, json params, headers extra = {}, int id = 1) {
    params["_meta"] = {{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
                       {"io.modelcontextprotocol/clientCapabilities", json::object()}};
    headers h{{"MCP-Protocol-Version", "2026-07-28"}, {"Mcp-Method", method}};
    if (params.contains("name"))
      h.push_back({"Mcp-Name", params["name"].get<std::string>()});
    if (params.contains("uri"))
      h.push_back({"Mcp-Name", params["uri"].get<std::string>()});
    h.insert(h.end(), extra.begin(), extra.end());
    return post(json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}}, h);
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
  process second{{binary, "node", "--http-port", std::to_string(first.port)}, dir.path()};
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
