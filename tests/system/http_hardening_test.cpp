// The MCP port against slow, greedy and hostile clients: the real binary,
// raw sockets, the counters on /metrics.

#include <csignal>
#include <memory>
#include <regex>
#include <thread>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "tests/support/guarded_node.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/mcp_call.hpp"
#include "tests/support/node_ready.hpp"
#include "tests/support/process.hpp"

using namespace cafmcp::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

using headers = std::vector<std::pair<std::string, std::string>>;

/// Holds 40 connections to `port` of a node limited to 40 descriptors
/// until the server at `log_path` logs its first failed accept, then closes
/// them.
void exhaust_descriptors(guarded_node& node, uint16_t port, const std::string& log_path) {
  std::vector<std::unique_ptr<http_stream>> held;
  for (int i = 0; i < 40; ++i)
    held.push_back(std::make_unique<http_stream>(port, ""));
  REQUIRE(node.proc->wait_for_stderr_line(
    std::regex{R"(\S+ warning +(\S+ )?)" + log_path
               + R"(: cannot accept connections: Too many open files \(1 in a row\); retrying in 10 ms)"},
    10s));
}

} // namespace

TEST_CASE("a slowloris client is closed after http.header_timeout_ms and counted - others are served meanwhile") {
  guarded_node node{R"({"http": {"header_timeout_ms": 300, "body_timeout_ms": 300, "idle_timeout_ms": 600}})"};
  // Headers that never end, a body that never comes, and a connection that never asks.
  http_stream headers_slow{node.port, "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: app"};
  http_stream body_slow{node.port, "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{\"json"};
  http_stream idle{node.port, ""};
  CHECK(node.echo() == 200);
  // A byte every 100 ms does not keep the headers' deadline away.
  for (int i = 0; i < 3 && headers_slow.open(); ++i) {
    headers_slow.send("x");
    std::this_thread::sleep_for(100ms);
  }
  CHECK(headers_slow.wait_closed(5s));
  CHECK(body_slow.wait_closed(5s));
  CHECK(idle.wait_closed(5s));
  CHECK(node.metric(R"(cafmcp_http_timeouts_total{phase="header"})") == 1);
  CHECK(node.metric(R"(cafmcp_http_timeouts_total{phase="body"})") == 1);
  CHECK(node.metric(R"(cafmcp_http_timeouts_total{phase="idle"})") >= 1);
  CHECK(node.echo() == 200);
}

TEST_CASE("connections past the per-client and the node's limits get 503 with Retry-After - served again once others close") {
  SUBCASE("per client address") {
    guarded_node node{R"({"http": {"max_connections_per_client": 3}})"};
    std::vector<std::unique_ptr<http_stream>> held;
    for (int i = 0; i < 3; ++i)
      held.push_back(std::make_unique<http_stream>(node.port, ""));
    REQUIRE(node.wait_metric("cafmcp_http_connections", 3));
    http_stream extra{node.port, ""};
    REQUIRE(extra.wait_closed(5s));
    CHECK(extra.raw().rfind("HTTP/1.1 503 Service Unavailable\r\n", 0) == 0);
    CHECK(extra.raw().find("Retry-After: 1\r\n") != std::string::npos);
    CHECK(extra.raw().find("http.max_connections_per_client") != std::string::npos);
    CHECK(node.metric(R"(cafmcp_http_connections_refused_total{reason="client_limit"})") == 1);
    held.clear();
    int status = 0;
    for (int i = 0; i < 100 && status != 200; ++i) { // bounded: the held ones end asynchronously
      status = node.echo();
      if (status != 200)
        std::this_thread::sleep_for(20ms);
    }
    CHECK(status == 200);
  }
  SUBCASE("the node in all") {
    guarded_node node{R"({"http": {"max_connections": 2}})"};
    http_stream a{node.port, ""}, b{node.port, ""};
    REQUIRE(node.wait_metric("cafmcp_http_connections", 2));
    http_stream extra{node.port, ""};
    REQUIRE(extra.wait_closed(5s));
    CHECK(extra.raw().rfind("HTTP/1.1 503 Service Unavailable\r\n", 0) == 0);
    CHECK(node.metric(R"(cafmcp_http_connections_refused_total{reason="node_limit"})") == 1);
    a.close();
    int status = 0;
    for (int i = 0; i < 100 && status != 200; ++i) {
      status = node.echo();
      if (status != 200)
        std::this_thread::sleep_for(20ms);
    }
    CHECK(status == 200);
  }
}

TEST_CASE("the accept loop survives running out of file descriptors and serves again once connections end") {
  // 40 descriptors: the node needs about 13; the rest go to connections.
  guarded_node node{R"({"http": {"idle_timeout_ms": 600000}})", {"/bin/sh", "-c", "ulimit -n 40 && exec \"$@\"", "sh"}};
  exhaust_descriptors(node, node.port, "/root/protocol_sup/transport_sup/http");
  int status = 0;
  for (int i = 0; i < 200 && status != 200; ++i) { // bounded: 200 tries
    status = node.echo();
    if (status != 200)
      std::this_thread::sleep_for(50ms);
  }
  CHECK(status == 200);
  CHECK(node.metric(R"(cafmcp_http_accept_errors_total{error="Too many open files"})") >= 1);
}

TEST_CASE("the observability port's accept loop survives running out of file descriptors and serves /health again") {
  guarded_node node{R"({"observability": {"idle_timeout_ms": 600000, "max_connections": 1000,
                                          "max_connections_per_client": 1000}})",
                    {"/bin/sh", "-c", "ulimit -n 40 && exec \"$@\"", "sh"}};
  exhaust_descriptors(node, node.web, "/root/observability_sup/web");
  int status = 0;
  for (int i = 0; i < 200 && status != 200; ++i) { // bounded: 200 tries
    status = http_request(node.web, "GET", "/health", {}, "", 1s).status;
    if (status != 200)
      std::this_thread::sleep_for(50ms);
  }
  CHECK(status == 200);
  CHECK(node.proc->wait_for_stderr_line(
    std::regex{R"(\S+ info +(\S+ )?/root/observability_sup/web: accepting connections again after \d+ failures)"}, 10s));
}

TEST_CASE("a node bound to loopback answers 403 to a Host header naming another machine (DNS rebinding)") {
  guarded_node node{R"({"http": {"allowed_hosts": ["mcp.test"]}})"};
  auto request = [&](const std::string& host) {
    http_stream s{node.port, "POST /mcp HTTP/1.1\r\nHost: " + host
                               + "\r\nContent-Type: application/json\r\nAccept: application/json, "
                                 "text/event-stream\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}"};
    s.wait_closed(5s);
    return s.raw();
  };
  auto rebound = request("attacker.example:8080");
  CHECK(rebound.rfind("HTTP/1.1 403", 0) == 0);
  CHECK(rebound.find("DNS rebinding") != std::string::npos);
  // This machine's names and a configured one get past the Host check (400: the body is no request).
  CHECK(request("localhost:1").rfind("HTTP/1.1 400", 0) == 0);
  CHECK(request("mcp.test").rfind("HTTP/1.1 400", 0) == 0);
}

TEST_CASE("a reader too slow for its SSE stream is closed past http.max_stream_queue_bytes and counted - others are served meanwhile") {
  // The kernel holds little for the reader (socket_send_buffer_bytes), so
  // what it does not read waits in the node's queue, bounded.
  guarded_node node{R"({"http": {"max_stream_queue_bytes": 4096, "socket_send_buffer_bytes": 4096}})", {},
                    NOTES_SERVER_BINARY};
  json listen_body{{"jsonrpc", "2.0"}, {"id", 7}, {"method", "subscriptions/listen"},
                   {"params", {{"notifications", {{"resourcesListChanged", true}}},
                               {"_meta", {{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
                                          {"io.modelcontextprotocol/clientCapabilities", json::object()}}}}}};
  auto raw = request_text("POST", "/mcp",
                          {{"Content-Type", "application/json"}, {"Accept", "application/json, text/event-stream"},
                           {"MCP-Protocol-Version", "2026-07-28"}, {"Mcp-Method", "subscriptions/listen"}},
                          listen_body.dump());
  http_stream reader{node.port, raw, 2048}; // reads nothing more once it is listening
  REQUIRE(reader.wait_for("notifications/subscriptions/acknowledged", 10s));
  // Every new board topic is a resources/list_changed event on the stream.
  int posts = 0;
  for (; posts < 2000 && node.metric("cafmcp_http_slow_readers_total") < 1; posts += 50)
    for (int i = 0; i < 50; ++i)
      REQUIRE(ok(call_tool(node.port, "board_post",
                           {{"topic", "t" + std::to_string(posts + i)}, {"text", "x"}})));
  CHECK(node.wait_metric("cafmcp_http_slow_readers_total", 1, 5s));
  MESSAGE(posts << " posts until the stream was closed");
  CHECK(node.proc->wait_for_stderr_line(
    std::regex{R"(\S+ info +(\S+ )?/root/protocol_sup/transport_sup/http: closed a stream to 127\.0\.0\.1: more )"
               R"(than 4096 bytes waited for the client to read them \(http\.max_stream_queue_bytes\))"},
    5s));
  CHECK(reader.wait_closed(10s));
  CHECK(node.echo() == 200);
}
