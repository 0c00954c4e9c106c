// Real `cafmcp` processes forming a cluster on 127.0.0.1, and real faults:
// kill -9, SIGSTOP/SIGCONT, SIGTERM (graceful leave), a wrong cookie.
// Heartbeats are 200 ms here so that every wait stays short; each wait is
// bounded.

#include <csignal>
#include <regex>
#include <thread>

#include <sys/stat.h>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "tests/support/cluster_fixture.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/mcp_call.hpp"
#include "tests/support/net.hpp"
#include "tests/support/process.hpp"

using namespace cafmcp::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

json mcp_echo(uint16_t port) {
  auto r = mcp_tool_call(port, "echo", {{"text", "hi"}});
  return json{{"status", r.status}, {"body", r.body}};
}

} // namespace

TEST_CASE("three nodes form a cluster - every node sees all three up and healthy, one leader") {
  three_nodes c;
  for (auto* n : {c.n1.get(), c.n2.get(), c.n3.get()}) {
    // Each node's own view converges (gossip), within a bounded wait.
    CHECK(wait_status(c.dir, *n, c.cookie, [](const json& rows) { return all_up_healthy(rows, 3); }, 10s));
    auto s = status(c.dir, *n, c.cookie);
    REQUIRE(s.code == 0);
    int leaders = 0;
    for (auto& r : s.rows)
      leaders += r["leader"].get<bool>() ? 1 : 0;
    CHECK(leaders == 1);
    CHECK(row_of(s.rows, "n1")["leader"] == true);
  }
  // The human-readable table.
  process p{{binary, "status", "--node", c.n2->address(), "--cookie-file", c.cookie, "--certs-dir", certs_of(c.dir)}, c.dir.path()};
  REQUIRE(p.wait_exit(20s) == 0);
  CHECK(p.out().find("NODE") == 0);
  CHECK(std::regex_search(p.out(), std::regex{R"(n3\s+127\.0\.0\.1:\d+\s+up\s+healthy)"}));
  // Each heartbeat is echoed: every reachable member has a round trip, in
  // the status (table and JSON) and in /metrics.
  CHECK(std::regex_search(p.out(), std::regex{R"(n3\s+127\.0\.0\.1:\d+\s+up\s+healthy\s+\d+\s+\d+ ms\s+\d+\.\d\d ms)"}));
  auto s = status(c.dir, *c.n2, c.cookie);
  for (auto& r : s.rows) {
    if (r["self"] == true)
      CHECK(r["heartbeat_rtt_ms"].is_null());
    else
      CHECK((r["heartbeat_rtt_ms"].is_number() && r["heartbeat_rtt_ms"].get<double>() >= 0));
  }
  auto m = http_request(c.n2->web_port, "GET", "/metrics", {});
  CHECK(m.body.find("cafmcp_cluster_heartbeat_rtt_seconds{peer=\"n1\"}") != std::string::npos);
  CHECK(m.body.find("cafmcp_cluster_heartbeat_rtt_seconds{peer=\"n3\"}") != std::string::npos);
}

TEST_CASE("a node with the wrong cookie is refused and told why - status with it fails") {
  temp_dir dir;
  auto cookie = write_cookie(dir, "cookie", "right-cookie");
  auto wrong = write_cookie(dir, "wrong", "wrong-cookie");
  auto config = dir.write("node.json", fast_config);
  cluster_node n1{dir, "n1", cookie, config};
  cluster_node intruder{dir, "n9", wrong, config, n1.address()};
  CHECK(intruder.proc->wait_for_stderr("does not hold our cluster cookie", 10s));
  std::this_thread::sleep_for(1s);
  auto s = status(dir, n1, cookie);
  REQUIRE(s.code == 0);
  CHECK(s.rows.size() == 1); // nothing about the intruder
  auto refused = status(dir, n1, wrong);
  CHECK(refused.code == 1);
  CHECK(refused.err.find("cookie") != std::string::npos);
  // Nothing answers: a clear error, exit 1.
  process none{{binary, "status", "--node", "127.0.0.1:" + std::to_string(free_port()), "--cookie-file", cookie,
                "--certs-dir", certs_of(dir)},
               dir.path()};
  CHECK(none.wait_exit(20s) == 1);
  CHECK(none.err().find("nothing answers") != std::string::npos);
  n1.proc->signal(SIGTERM);
  intruder.proc->signal(SIGTERM);
  CHECK(n1.proc->wait_exit(20s) == 0);
  CHECK(intruder.proc->wait_exit(20s) == 0);
}

TEST_CASE("a graceful leave on SIGTERM is seen as leaving, then removed, never as a failure") {
  three_nodes c;
  c.n3->proc->signal(SIGTERM);
  CHECK(c.n3->proc->wait_exit(20s) == 0);
  CHECK(c.n3->proc->err().find("left the cluster") != std::string::npos);
  CHECK(wait_status(c.dir, *c.n1, c.cookie, [](const json& rows) {
    auto r = row_of(rows, "n3");
    return r.is_null() || r["state"] == "removed";
  }));
  CHECK(c.n1->proc->err().find("member n3: up → leaving") != std::string::npos);
  CHECK(c.n1->proc->err().find("split brain resolved") == std::string::npos);
  auto s = status(c.dir, *c.n2, c.cookie);
  CHECK(row_of(s.rows, "n1")["state"] == "up");
  CHECK(row_of(s.rows, "n2")["state"] == "up");
}

TEST_CASE("kill -9 of one node: the others mark it unhealthy, then down, and keep serving") {
  three_nodes c;
  c.n3->proc->signal(SIGKILL);
  CHECK(wait_status(c.dir, *c.n1, c.cookie, [](const json& rows) {
    return row_of(rows, "n3")["health"] == "unhealthy";
  }, 5s));
  CHECK(wait_status(c.dir, *c.n2, c.cookie, [](const json& rows) {
    auto s = row_of(rows, "n3")["state"];
    return s == "down" || s == "removed";
  }, 10s));
  // One of the survivors decided (the other may learn it by gossip first).
  CHECK((c.n1->proc->err() + c.n2->proc->err()).find("this side stays up") != std::string::npos);
  auto r = mcp_echo(c.n1->http_port);
  CHECK(r["status"] == 200);
  CHECK(r["body"]["result"]["content"][0]["text"] == "hi");
}

TEST_CASE("a frozen node (SIGSTOP) is detected - after SIGCONT it rejoins and all are up again") {
  three_nodes c;
  c.n2->proc->signal(SIGSTOP);
  CHECK(wait_status(c.dir, *c.n1, c.cookie, [](const json& rows) {
    return row_of(rows, "n2")["health"] == "unhealthy";
  }, 5s));
  CHECK(wait_status(c.dir, *c.n3, c.cookie, [](const json& rows) {
    return row_of(rows, "n2")["state"] == "down";
  }, 10s));
  c.n2->proc->signal(SIGCONT);
  CHECK(wait_status(c.dir, *c.n1, c.cookie, [](const json& rows) { return all_up_healthy(rows, 3); }, 30s));
  CHECK(c.n2->proc->wait_for_stderr("rejoining as a new incarnation", 5s));
}

TEST_CASE("the losing side fences itself: MCP requests get 503 with -32030 until the cluster heals") {
  three_nodes c;
  // n1 alone against a frozen majority: it is the minority.
  c.n2->proc->signal(SIGSTOP);
  c.n3->proc->signal(SIGSTOP);
  REQUIRE(c.n1->proc->wait_for_stderr("fenced:", 10s));
  auto refused = mcp_echo(c.n1->http_port);
  CHECK(refused["status"] == 503);
  CHECK(refused["body"]["error"]["code"] == -32030);
  CHECK(wait_status(c.dir, *c.n1, c.cookie, [](const json& rows) {
    return row_of(rows, "n1")["side"] == "fenced";
  }, 5s));
  c.n2->proc->signal(SIGCONT);
  c.n3->proc->signal(SIGCONT);
  CHECK(wait_status(c.dir, *c.n1, c.cookie, [](const json& rows) { return all_up_healthy(rows, 3); }, 30s));
  auto served = mcp_echo(c.n1->http_port);
  CHECK(served["status"] == 200);
}

TEST_CASE("cafmcp cluster up --detach starts three nodes, status shows them up, cluster down stops them") {
  temp_dir dir;
  auto cookie = write_cookie(dir, "cookie", "up-cookie");
  auto config = dir.write("node.json", fast_config);
  auto base = free_port_range(9);
  REQUIRE(base > 0);
  auto data = dir.path() + "/cluster";
  process up{{binary, "cluster", "up", "--nodes", "3", "--base-port", std::to_string(base), "--data-dir", data,
              "--cookie-file", cookie, "--config", config, "--certs-dir", certs_of(dir), "--detach"},
             dir.path()};
  REQUIRE(up.wait_exit(60s) == 0);
  CHECK(up.out().find("cluster up: 3 nodes") != std::string::npos);
  CHECK(up.out().find("MCP http://127.0.0.1:" + std::to_string(base + 1) + "/mcp") != std::string::npos);
  CHECK(up.out().find("mutual TLS, certificates in " + certs_of(dir)) != std::string::npos);
  process st{{binary, "status", "--node", "127.0.0.1:" + std::to_string(base), "--cookie-file", cookie, "--certs-dir",
              certs_of(dir), "--json"},
             dir.path()};
  REQUIRE(st.wait_exit(20s) == 0);
  CHECK(all_up_healthy(json::parse(st.out()), 3));
  CHECK(mcp_echo(static_cast<uint16_t>(base + 4))["status"] == 200); // n2's MCP port
  process again{{binary, "cluster", "up", "--nodes", "3", "--base-port", std::to_string(base), "--data-dir", data,
                 "--cookie-file", cookie, "--certs-dir", certs_of(dir), "--detach"},
                dir.path()};
  CHECK(again.wait_exit(20s) == 1); // already running from that data dir
  CHECK(again.err().find("cluster down") != std::string::npos);
  process down{{binary, "cluster", "down", "--data-dir", data}, dir.path()};
  CHECK(down.wait_exit(60s) == 0);
  CHECK(down.out().find("stopped 3 node(s)") != std::string::npos);
  process gone{{binary, "cluster", "down", "--data-dir", data}, dir.path()};
  CHECK(gone.wait_exit(20s) == 1);
}

TEST_CASE("nodes whose certificates are named file by file (cluster.tls) form a cluster") {
  temp_dir dir;
  ensure_node_cert(dir, "n1");
  ensure_node_cert(dir, "n2");
  auto tls_config = [&](const std::string& name) {
    json cfg = json::parse(fast_config);
    auto base = certs_of(dir) + "/";
    cfg["cluster"]["tls"] = {{"certificate", base + "node." + name + ".crt"},
                             {"key", base + "node." + name + ".key"},
                             {"cafile", base + "ca.crt"}};
    return dir.write(name + ".json", cfg.dump());
  };
  auto cookie = write_cookie(dir, "cookie", "tls-cookie");
  cluster_node n1{dir, "n1", cookie, tls_config("n1")};
  cluster_node n2{dir, "n2", cookie, tls_config("n2"), n1.address()};
  CHECK(n1.proc->err().find("; mutual TLS;") != std::string::npos);
  CHECK(wait_status(dir, n1, cookie, [](const json& rows) { return all_up_healthy(rows, 2); }, 10s));
  CHECK(n1.proc->err().find("n2 authenticated (CN=n2,OU=node)") != std::string::npos);
  n1.proc->signal(SIGTERM);
  n2.proc->signal(SIGTERM);
  CHECK(n1.proc->wait_exit(20s) == 0);
  CHECK(n2.proc->wait_exit(20s) == 0);
}

TEST_CASE("a requestState minted by one node is accepted by another member (key derived from the cookie)") {
  temp_dir dir;
  auto cookie = write_cookie(dir, "cookie", "mrtr-cookie");
  json cfg = json::parse(fast_config);
  cfg["mcp"]["conformance_tools"] = true;
  auto config = dir.write("node.json", cfg.dump());
  cluster_node n1{dir, "n1", cookie, config};
  cluster_node n2{dir, "n2", cookie, config, n1.address()};
  auto call = [](uint16_t port, json params) {
    params["_meta"] = {{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
                       {"io.modelcontextprotocol/clientCapabilities", {{"elicitation", json::object()}}}};
    auto r = mcp_post_tool_call(port, json{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "tools/call"}, {"params", params}});
    return json::parse(r.body, nullptr, false);
  };
  json args{{"message", "who?"}};
  auto first = call(n1.http_port, json{{"name", "test_elicitation"}, {"arguments", args}});
  REQUIRE(first["result"]["resultType"] == "input_required");
  auto retry = call(n2.http_port, json{{"name", "test_elicitation"},
                                       {"arguments", args},
                                       {"requestState", first["result"]["requestState"]},
                                       {"inputResponses", {{"user", {{"action", "accept"}, {"content", {{"username", "ann"}}}}}}}});
  CHECK(retry["result"]["resultType"] == "complete");
  CHECK(retry["result"]["content"][0]["text"].get<std::string>().find("ann") != std::string::npos);
  n1.proc->signal(SIGTERM);
  n2.proc->signal(SIGTERM);
  CHECK(n1.proc->wait_exit(20s) == 0);
  CHECK(n2.proc->wait_exit(20s) == 0);
}
