// A full disk under a cluster node: the data directory on a small tmpfs
// that only the node's own mount namespace sees (unshare -m). Needs root,
// like the network-namespace tests: without it the case exits 77 (skipped).

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#include <unistd.h>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "tests/support/cluster_fixture.hpp"
#include "tests/support/fault_cluster.hpp"
#include "tests/support/fault_workload.hpp"
#include "tests/support/history.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/mcp_call.hpp"

using namespace cafmcp::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

void require_unshare() {
  if (::geteuid() != 0 || std::system("unshare -m true > /dev/null 2>&1") != 0) {
    std::fprintf(stderr, "the disk fault test needs root and unshare: skipped\n");
    std::exit(77);
  }
}

/// Fills `path` (a file on the node's tmpfs) until the filesystem is full.
void fill(const std::string& path) {
  std::ofstream f{path, std::ios::binary};
  std::string block(64 * 1024, 'x');
  for (int i = 0; i < 1024 && f; ++i) // 64 MB at most: far more than the tmpfs holds
    f.write(block.data(), static_cast<std::streamsize>(block.size())), f.flush();
}

json health(uint16_t web_port) {
  auto r = http_request(web_port, "GET", "/health", {});
  auto j = json::parse(r.body, nullptr, false);
  return j.is_discarded() ? json{} : j;
}

json check_named(const json& h, const std::string& name) {
  if (h.contains("checks"))
    for (auto& c : h["checks"])
      if (c["name"] == name)
        return c;
  return nullptr;
}

/// Polls /health until its disk check passes again (the node retries every
/// 100 ms tick); false after `polls` polls.
bool wait_disk_ok(uint16_t web_port, int polls) {
  for (int i = 0; i < polls; ++i) {
    if (check_named(health(web_port), "disk")["ok"] == true)
      return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

} // namespace

TEST_CASE("a full disk makes a node refuse writes and report it in /health and /metrics - it recovers by itself when space returns") {
  require_unshare();
  temp_dir dir;
  auto cookie = write_cookie(dir, "cookie", "disk-cookie");
  auto config = dir.write("node.json", fast_config);
  auto data = dir.path() + "/data/n1";
  REQUIRE(std::system(("mkdir -p '" + data + "'").c_str()) == 0);
  // The node's own mount namespace: a 256 KiB tmpfs on its data directory.
  cluster_node n1{dir, "n1", cookie, config, {},
                  {"/usr/bin/unshare", "-m", "--propagation", "private", "/bin/sh", "-c",
                   "mount -t tmpfs -o size=256k tmpfs \"$0\" && exec \"$@\"", data}};
  // The test reaches that tmpfs through the node's root in /proc.
  auto inside = "/proc/" + std::to_string(n1.proc->pid()) + "/root" + data;
  auto h = open_handle(n1.http_port);
  REQUIRE_FALSE(h.empty());
  REQUIRE(ok(call_tool(n1.http_port, "session_set", {{"handle", h}, {"key", "k"}, {"value", "before"}})));
  CHECK(check_named(health(n1.web_port), "disk")["ok"] == true);

  fill(inside + "/filler");
  // Larger than a page: the WAL's last page may have room for a short line.
  auto refused = call_tool(n1.http_port, "session_set",
                           {{"handle", h}, {"key", "k"}, {"value", std::string(16 * 1024, 'f')}});
  CHECK_FALSE(ok(refused));
  auto why = refused.contains("error") ? refused["error"].value("message", "") : text_of(refused);
  MESSAGE("a write to a full disk answers: " << why);
  CHECK(why.find("cannot persist") != std::string::npos);
  auto disk = check_named(health(n1.web_port), "disk");
  CHECK(disk["ok"] == false);
  CHECK(disk["detail"].get<std::string>().find("No space left on device") != std::string::npos);
  CHECK(health(n1.web_port)["status"] == "degraded");
  CHECK(metric(n1.web_port, "cafmcp_replication_disk_failures_total") >= 1);
  CHECK(metric(n1.web_port, "cafmcp_replication_disk_ok") == 0);
  // While the disk has failed, a write is refused before it takes effect.
  auto second = call_tool(n1.http_port, "session_set", {{"handle", h}, {"key", "k2"}, {"value", "second"}});
  CHECK_FALSE(ok(second));
  CHECK(text_of(second).find("cluster:disk_failed (n1 cannot persist the write: ") != std::string::npos);
  CHECK(text_of(call_tool(n1.http_port, "session_get", {{"handle", h}, {"key", "k2"}})).find("no value stored") != std::string::npos);

  REQUIRE(std::remove((inside + "/filler").c_str()) == 0);
  CHECK(wait_disk_ok(n1.web_port, 50));
  CHECK(ok(call_tool(n1.http_port, "session_set", {{"handle", h}, {"key", "k"}, {"value", "after"}})));
  CHECK(metric(n1.web_port, "cafmcp_replication_disk_ok") == 1);
  // What was written is on that disk: the WAL holds the write made after the recovery.
  std::ifstream wal{inside + "/replicas.wal"};
  std::string text{std::istreambuf_iterator<char>{wal}, std::istreambuf_iterator<char>{}};
  CHECK(text.find("\"after\"") != std::string::npos);
  n1.proc->signal(SIGTERM);
  n1.proc->wait_exit(20s);
}

TEST_CASE("a node whose disk fills up again and again loses no acknowledged write - writes go on through replicas that can persist them") {
  require_unshare();
  auto n = nodes_wanted();
  auto limit = seconds_wanted(6);
  // The last node's data directory is a 1 MiB tmpfs in its own mount namespace.
  fault_cluster c{n, {}, [n](size_t i, const std::string& data) -> std::vector<std::string> {
                    if (i != n - 1)
                      return {};
                    return {"/usr/bin/unshare", "-m", "--propagation", "private", "/bin/sh", "-c",
                            "mkdir -p \"$0\" && mount -t tmpfs -o size=1m tmpfs \"$0\" && exec \"$@\"", data};
                  }};
  auto handles = c.open_handles(12);
  auto& full = *c.nodes[n - 1];
  auto inside = "/proc/" + std::to_string(full.proc->pid()) + "/root" + c.data_dir(n - 1);
  history::checker h;
  int rounds = 0;
  double failures = 0;
  {
    workload_options opt;
    opt.writers = 4;
    opt.nodes = n;
    workload w{h, handles, c.call(), opt};
    auto deadline = history::clock::now() + limit;
    do {
      std::this_thread::sleep_for(1s);
      w.next_epoch();
      fill(inside + "/filler");
      w.next_epoch();
      std::this_thread::sleep_for(2s);
      REQUIRE(std::remove((inside + "/filler").c_str()) == 0);
      w.next_epoch();
      REQUIRE(wait_disk_ok(full.web_port, 100));
      ++rounds;
    } while (rounds < 50 && history::clock::now() < deadline);
    failures = metric(full.web_port, "cafmcp_replication_disk_failures_total");
    std::this_thread::sleep_for(500ms);
    w.finish();
  }
  h.healed(history::clock::now());
  MESSAGE("full-disk: " << rounds << " rounds, " << failures << " disk failures on " << full.name);
  CHECK(failures >= 1); // the disk did fill up under the writes
  auto r = converge(h, c.call(), c.all());
  judge(r, "full-disk", n);
}
