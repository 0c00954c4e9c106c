// The replica disk actor is restarted with the configured backoff when it
// dies: the node logs the pause, and once it is back writes through that
// node are acknowledged again and read back from another member.

#include <regex>
#include <thread>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "tests/support/cluster_fixture.hpp"
#include "tests/support/mcp_call.hpp"

using namespace cafmcp::test;
using namespace std::chrono_literals;
using nlohmann::json;

TEST_CASE("a killed replica disk actor comes back after its restart backoff - then writes are acknowledged again") {
  three_nodes c;
  auto handle = open_handle(c.n2->http_port);
  REQUIRE_FALSE(handle.empty());
  auto kill = run({binary, "shell", "--node", c.n1->address(), "-c", "kill n2:/root/cluster_sup/replica_disk",
                   "--cookie-file", c.cookie, "--certs-dir", certs_of(c.dir)},
                  30s);
  REQUIRE_MESSAGE(kill.code == 0, kill.err);
  CHECK(c.n2->proc->wait_for_stderr_line(
    std::regex{R"(\S+ info +n2 /root/cluster_sup: restarting replica_disk in \d+ ms \(backoff\))"}, 10s));
  CHECK(c.n2->proc->wait_for_stderr_line(
    std::regex{R"(\S+ info +n2 /root/cluster_sup: started replica_disk \(actor \d+\))"}, 40s));
  // Back: a write through n2 is acknowledged (retried while the tier restarts) and n1 reads it.
  bool written = false;
  for (int i = 0; i < 50 && !written; ++i) { // bounded: about 10 s
    written = ok(call_tool(c.n2->http_port, "session_set", {{"handle", handle}, {"key", "k"}, {"value", "after"}}));
    if (!written)
      std::this_thread::sleep_for(200ms);
  }
  REQUIRE(written);
  auto read = call_tool(c.n1->http_port, "session_get", {{"handle", handle}, {"key", "k"}});
  CHECK(text_of(read).find("after") != std::string::npos);
}
