// A cafmcp node serving another cafmcp node's tools as a stdio upstream
// (`cafmcp node --stdio` as the program): real processes, what comes back
// from the program's stdout with no request id.

#include <csignal>
#include <iterator>
#include <thread>
#include <regex>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "tests/support/http_client.hpp"
#include "tests/support/mcp_call.hpp"
#include "tests/support/node_ready.hpp"
#include "tests/support/process.hpp"
#include "tests/support/net.hpp"

using namespace cafmcp::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const std::string binary = CAFMCP_BINARY;

} // namespace

TEST_CASE("a stdio upstream's log messages during a call reach that call's client at the level it asked for") {
  temp_dir dir;
  auto s_config = dir.write("s.json", json{{"name", "s1"}, {"mcp", {{"conformance_tools", true}}}}.dump());
  auto a_config = dir.write(
    "a.json", json{{"name", "a1"},
                   {"upstreams",
                    {{"s", {{"command", {binary, "node", "--stdio", "--config", s_config, "--http-port", "0",
                                         "--metrics-port", "0"}}}}}}}
                .dump());
  process a{{binary, "node", "--config", a_config, "--http-port", "0", "--metrics-port", "0"}, dir.path()};
  auto ready = wait_ready(a, "a1");
  REQUIRE(ready);
  // The upstream's tools are there once it has listed them.
  mcp_reply listed;
  for (int i = 0; i < 200; ++i) { // bounded: 20 s
    listed = mcp_tool_call(ready->mcp_port, "s.echo", json{{"text", "up"}});
    if (listed.body.contains("result"))
      break;
    std::this_thread::sleep_for(100ms);
  }
  REQUIRE_MESSAGE(listed.body.contains("result"), listed.body.dump());

  auto call = [&](const char* level) {
    auto body = mcp_tool_call_body("s.test_tool_with_logging", json::object());
    body["params"]["_meta"]["io.modelcontextprotocol/logLevel"] = level;
    auto r = mcp_post_tool_call(ready->mcp_port, body, 15s);
    std::regex log_event{R"(data: \{[^\n]*"method":"notifications/message")"};
    return std::make_pair(r.body, std::distance(std::sregex_iterator(r.body.begin(), r.body.end(), log_event),
                                                std::sregex_iterator()));
  };
  auto [body, logs] = call("info");
  CHECK_MESSAGE(logs == 3, body);
  CHECK(body.find(R"("result")") != std::string::npos);
  auto [quiet_body, quiet] = call("error"); // the client asked for errors only
  CHECK_MESSAGE(quiet == 0, quiet_body);
  a.signal(SIGTERM);
  CHECK(a.wait_exit(20s) == 0);
}
