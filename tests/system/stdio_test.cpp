// `cafmcp node --stdio` as an MCP client sees it: the real binary, JSON-RPC
// lines on its stdin and stdout.

#include <csignal>
#include <sstream>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "tests/support/node_ready.hpp"
#include "tests/support/otlp_receiver.hpp"
#include "tests/support/process.hpp"

using namespace cafmcp::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const std::string binary = CAFMCP_BINARY;

json meta() {
  return json{{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
              {"io.modelcontextprotocol/clientCapabilities", json::object()}};
}

std::vector<json> lines_of(const std::string& text) {
  std::vector<json> out;
  std::istringstream in{text};
  std::string line;
  while (std::getline(in, line))
    if (!line.empty())
      out.push_back(json::parse(line));
  return out;
}

json by_id(const std::vector<json>& msgs, int id) {
  for (auto& m : msgs)
    if (m.contains("id") && m["id"] == id)
      return m;
  return json{{"missing", id}};
}

} // namespace

TEST_CASE("cafmcp node --stdio serves both eras and stops when stdin closes") {
  temp_dir dir;
  process node{{binary, "node", "--stdio", "--http-port", "0", "--metrics-port", "0", "--name", "stdio1"}, dir.path(), true};
  std::string input;
  input += json{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "server/discover"}, {"params", {{"_meta", meta()}}}}.dump() + "\n";
  input += json{{"jsonrpc", "2.0"}, {"id", 2}, {"method", "tools/call"},
                {"params", {{"name", "echo"}, {"arguments", {{"text", "hello"}}}, {"_meta", meta()}}}}.dump() + "\n";
  input += "this is not json\n";
  input += json{{"jsonrpc", "2.0"}, {"id", 3}, {"method", "initialize"},
                {"params", {{"protocolVersion", "2025-06-18"}, {"capabilities", json::object()},
                            {"clientInfo", {{"name", "t"}, {"version", "1"}}}}}}.dump() + "\n";
  input += R"({"jsonrpc":"2.0","method":"notifications/initialized"})" "\n";
  input += json{{"jsonrpc", "2.0"}, {"id", 4}, {"method", "tools/call"},
                {"params", {{"name", "add"}, {"arguments", {{"a", 1}, {"b", 2}}}}}}.dump() + "\n";
  node.write_stdin(input);
  REQUIRE(node.wait_for_stdout_lines(5, 20s));
  auto msgs = lines_of(node.out());
  CHECK(by_id(msgs, 1)["result"]["supportedVersions"][0] == "2026-07-28");
  CHECK(by_id(msgs, 2)["result"]["content"][0]["text"] == "hello");
  CHECK(by_id(msgs, 3)["result"]["protocolVersion"] == "2025-06-18");
  CHECK(by_id(msgs, 4)["result"]["structuredContent"]["sum"] == 3);
  bool parse_error = false;
  for (auto& m : msgs)
    parse_error = parse_error || (m.contains("error") && m["error"]["code"] == -32700 && m["id"].is_null());
  CHECK(parse_error);
  // Nothing but JSON-RPC on stdout; the logs are on stderr.
  CHECK(node.err().find("serving MCP on stdio") != std::string::npos);
  node.close_stdin();
  auto code = node.wait_exit(20s);
  REQUIRE(code);
  CHECK(*code == 0);
  CHECK(node.err().find("stdin closed; stopping") != std::string::npos);
}

TEST_CASE("cafmcp node --stdio refuses an oversized line without buffering it and keeps serving") {
  temp_dir dir;
  auto cfg = dir.write("node.json", R"({"mcp": {"max_message_bytes": 2048}})");
  process node{{binary, "node", "--stdio", "--http-port", "0", "--metrics-port", "0", "--config", cfg}, dir.path(), true};
  node.write_stdin(std::string(100000, 'x') + "\n");
  node.write_stdin(json{{"jsonrpc", "2.0"}, {"id", 7}, {"method", "tools/call"},
                        {"params", {{"name", "echo"}, {"arguments", {{"text", "after"}}}, {"_meta", meta()}}}}.dump()
                   + "\n");
  REQUIRE(node.wait_for_stdout_lines(2, 20s));
  auto msgs = lines_of(node.out());
  CHECK(msgs[0]["error"]["code"] == -32600);
  CHECK(msgs[0]["error"]["message"].get<std::string>().find("2048") != std::string::npos);
  CHECK(by_id(msgs, 7)["result"]["content"][0]["text"] == "after");
  node.close_stdin();
  CHECK(node.wait_exit(20s) == 0);
}

TEST_CASE("over stdio a traceparent in params._meta joins the request to the caller's trace") {
  temp_dir dir;
  otlp_receiver rx;
  process node{{binary, "node", "--stdio", "--http-port", "0", "--metrics-port", "0", "--name", "stdio-traced",
                "--otlp-endpoint", rx.endpoint()},
               dir.path(), true};
  const std::string trace_id = "0af7651916cd43dd8448eb211c80319c";
  auto m = meta();
  m["traceparent"] = "00-" + trace_id + "-b7ad6b7169203331-01";
  m["baggage"] = "tenant=acme";
  node.write_stdin(json{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "tools/call"},
                        {"params", {{"name", "echo"}, {"arguments", {{"text", "traced"}}}, {"_meta", m}}}}.dump()
                   + "\n");
  REQUIRE(node.wait_for_stdout_lines(1, 20s));
  CHECK(by_id(lines_of(node.out()), 1)["result"]["content"][0]["text"] == "traced");
  auto spans = rx.wait_trace(trace_id, [](const std::vector<received_span>& s) { return s.size() >= 2; }, 10s);
  node.close_stdin();
  node.wait_exit(20s);
  const received_span *request = nullptr, *tool = nullptr;
  for (auto& s : spans) {
    if (s.span["name"] == "tools/call")
      request = &s;
    if (s.span["name"] == "tool echo")
      tool = &s;
  }
  REQUIRE(request);
  REQUIRE(tool);
  CHECK(request->node == "stdio-traced");
  CHECK(request->span["parentSpanId"] == "b7ad6b7169203331");
  CHECK(request->span["kind"] == 2); // the request's first span: SERVER
  CHECK(tool->span["parentSpanId"] == request->span["spanId"]);
}

TEST_CASE("two cafmcp node --stdio at once both answer: a stdio node opens no port unless asked") {
  temp_dir dir;
  // Default flags, as an MCP host starts a server: before, both bound
  // 8080 and 9464 (or whatever held them) and the second exited.
  process first{{binary, "node", "--stdio", "--name", "stdio-a"}, dir.path(), true};
  process second{{binary, "node", "--stdio", "--name", "stdio-b"}, dir.path(), true};
  for (auto* p : {&first, &second}) {
    auto ready = wait_ready(*p);
    REQUIRE(ready);
    CHECK(ready->line.find("mcp=off observability=off") != std::string::npos);
  }
  for (auto* p : {&first, &second})
    p->write_stdin(json{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "tools/call"},
                        {"params", {{"name", "echo"}, {"arguments", {{"text", "both"}}}, {"_meta", meta()}}}}
                     .dump()
                   + "\n");
  for (auto* p : {&first, &second}) {
    REQUIRE(p->wait_for_stdout_lines(1, 20s));
    CHECK(by_id(lines_of(p->out()), 1)["result"]["content"][0]["text"] == "both");
  }
  // Asked for, the ports are served beside stdio.
  process asked{{binary, "node", "--stdio", "--http-port", "0", "--metrics-port", "0", "--name", "stdio-c"},
                dir.path(), true};
  auto ready = wait_ready(asked);
  REQUIRE(ready);
  CHECK(ready->mcp_port != 0);
  CHECK(ready->web_port != 0);
  for (auto* p : {&first, &second, &asked}) {
    p->close_stdin();
    CHECK(p->wait_exit(20s) == 0);
  }
}
