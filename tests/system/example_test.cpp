// examples/notes_server: a server author's binary built on the C++ API.

#include <sstream>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "tests/support/process.hpp"

using namespace cafmcp::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

json request(int id, const std::string& method, json params) {
  params["_meta"] = {{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
                     {"io.modelcontextprotocol/clientCapabilities", json::object()}};
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}};
}

std::map<int, json> responses(const std::string& out) {
  std::map<int, json> by_id;
  std::istringstream in{out};
  for (std::string line; std::getline(in, line);) {
    auto j = json::parse(line, nullptr, false);
    if (j.is_object() && j.contains("id") && j["id"].is_number_integer())
      by_id[j["id"].get<int>()] = j;
  }
  return by_id;
}

} // namespace

TEST_CASE("the notes example adds its own tools, template and prompt to the built-ins") {
  temp_dir dir;
  process server{{NOTES_SERVER_BINARY, "node", "--stdio", "--http-port", "0", "--metrics-port", "0"}, dir.path(), true};
  std::string in;
  in += request(1, "tools/call", {{"name", "word_count"}, {"arguments", {{"text", "one two  three"}}}}).dump() + "\n";
  in += request(2, "tools/call", {{"name", "session_open"}}).dump() + "\n";
  in += request(3, "tools/call", {{"name", "always_fails"}}).dump() + "\n";
  in += request(4, "resources/read", {{"uri", "notes://shout/hey"}}).dump() + "\n";
  in += request(5, "prompts/get", {{"name", "summarize"}, {"arguments", {{"text", "abc"}}}}).dump() + "\n";
  in += request(6, "tools/call", {{"name", "echo"}, {"arguments", {{"text", "built-in"}}}}).dump() + "\n";
  in += request(7, "tools/call", {{"name", "note_add"}, {"arguments", {{"handle", "nope"}, {"title", "t"}, {"text", "x"}}}}).dump() + "\n";
  server.write_stdin(in);
  REQUIRE(server.wait_for_stdout_lines(7, 20s));
  auto r = responses(server.out());
  CHECK(r[1]["result"]["structuredContent"]["words"] == 3);
  CHECK(r[2]["result"]["structuredContent"]["handle"].get<std::string>().size() == 32);
  CHECK(r[3]["error"]["code"] == -32603);
  CHECK(r[3]["error"]["message"].get<std::string>().find("always throws") != std::string::npos);
  CHECK(r[4]["result"]["contents"][0]["text"] == "HEY");
  CHECK(r[5]["result"]["messages"][0]["content"]["text"] == "Summarize: abc");
  CHECK(r[6]["result"]["content"][0]["text"] == "built-in");
  CHECK(r[7]["result"]["isError"] == true);
  // A note on a real handle.
  auto handle = r[2]["result"]["structuredContent"]["handle"].get<std::string>();
  server.write_stdin(request(8, "tools/call", {{"name", "note_add"}, {"arguments", {{"handle", handle}, {"title", "t"}, {"text", "x"}}}}).dump() + "\n");
  REQUIRE(server.wait_for_stdout_lines(8, 20s));
  CHECK(responses(server.out())[8]["result"]["content"][0]["text"] == "noted");
  server.close_stdin();
  CHECK(server.wait_exit(20s) == 0);
}
