// Black-box tests of `cafmcp node`: the real binary, real signals.

#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "tests/support/node_ready.hpp"
#include "tests/support/process.hpp"

using namespace cafmcp::test;
using namespace std::chrono_literals;

namespace {

const std::string binary = CAFMCP_BINARY;

std::vector<std::string> node_args(std::vector<std::string> extra) {
  std::vector<std::string> out{binary, "node", "--http-port", "0", "--metrics-port", "0"}; // never collide on 8080 or 9464
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
}

} // namespace

TEST_CASE("cafmcp node logs its tree and stops cleanly on SIGTERM with exit code 0") {
  temp_dir dir;
  process node{node_args({"--name", "t1"}), dir.path()};
  REQUIRE(wait_ready(node, "t1"));
  auto log = node.err();
  CHECK(log.find("supervision tree:") != std::string::npos);
  CHECK(log.find("core_sup (one_for_all)") != std::string::npos);
  CHECK(log.find("/root/core_sup: started registry") != std::string::npos);
  CHECK(log.find("observability_sup (one_for_one)") != std::string::npos);
  node.signal(SIGTERM);
  auto code = node.wait_exit(20s);
  REQUIRE(code);
  CHECK(*code == 0);
  log = node.err();
  CHECK(log.find("received SIGTERM; stopping") != std::string::npos);
  // Reverse start order: tier 3 first, core last.
  auto obs = log.find("/root: stopped observability_sup");
  auto protocol = log.find("/root: stopped protocol_sup");
  auto core = log.find("/root: stopped core_sup");
  REQUIRE(obs != std::string::npos);
  REQUIRE(protocol != std::string::npos);
  REQUIRE(core != std::string::npos);
  CHECK(obs < protocol);
  CHECK(protocol < core);
  CHECK(log.find("node t1 stopped") != std::string::npos);
}

TEST_CASE("cafmcp node stops cleanly on SIGINT") {
  temp_dir dir;
  process node{node_args({"--name", "t2"}), dir.path()};
  REQUIRE(wait_ready(node, "t2"));
  node.signal(SIGINT);
  auto code = node.wait_exit(20s);
  REQUIRE(code);
  CHECK(*code == 0);
}

TEST_CASE("a config file sets the node's name and log format") {
  temp_dir dir;
  auto cfg = dir.write("node.json", R"({"name": "from-file", "log": {"format": "json"}})");
  process node{node_args({"--config", cfg}), dir.path()};
  REQUIRE(wait_ready(node, "from-file"));
  node.signal(SIGTERM);
  REQUIRE(node.wait_exit(20s) == 0);
  // Every line is a JSON object with the documented fields.
  std::istringstream lines{node.err()};
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    if (line.empty())
      continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    REQUIRE_MESSAGE(!j.is_discarded(), line);
    CHECK(j["node"] == "from-file");
    CHECK(j.contains("ts"));
    CHECK(j.contains("level"));
    CHECK(j.contains("path"));
    CHECK(j.contains("msg"));
    ++count;
  }
  CHECK(count > 10);
}

TEST_CASE("--log-file appends the log lines to a file instead of stderr - an unwritable one is refused with exit code 2") {
  temp_dir dir;
  auto path = dir.path() + "/node.log";
  {
    std::ofstream earlier{path};
    earlier << "an earlier line\n";
  }
  process node{node_args({"--name", "filed", "--log-format", "json", "--log-file", path}), dir.path()};
  bool ready = false;
  std::string text;
  for (int i = 0; i < 200 && !ready; ++i) {
    std::ifstream in{path};
    text.assign(std::istreambuf_iterator<char>{in}, {});
    ready = text.find("node filed ready") != std::string::npos;
    if (!ready)
      std::this_thread::sleep_for(100ms);
  }
  REQUIRE(ready);
  node.signal(SIGTERM);
  REQUIRE(node.wait_exit(20s) == 0);
  CHECK(node.err().find("node filed ready") == std::string::npos); // not on stderr
  CHECK(text.rfind("an earlier line\n", 0) == 0);                  // appended
  std::istringstream lines{text.substr(text.find('\n') + 1)};
  std::string line;
  while (std::getline(lines, line))
    if (!line.empty())
      CHECK(nlohmann::json::parse(line, nullptr, false)["node"] == "filed");
  auto bad = run(node_args({"--log-file", dir.path() + "/no/such/dir/node.log"}));
  CHECK(bad.code == 2);
  CHECK(bad.err.find("\"log.file\": cannot open") != std::string::npos);
}

TEST_CASE("flags override the config file") {
  temp_dir dir;
  auto cfg = dir.write("node.json", R"({"name": "from-file"})");
  auto r = run(node_args({"--config", cfg, "--name", "from-flag", "--print-config"}));
  CHECK(r.code == 0);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["name"] == "from-flag");
  CHECK(j["sessions"]["ttl_ms"] == 1800000); // defaults are filled in
}

TEST_CASE("the default ports do not clash with a Prometheus beside the node: observability on 9464, not 9090") {
  auto r = run({binary, "node", "--print-config"});
  REQUIRE(r.code == 0);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["observability"]["port"] == 9464); // OpenTelemetry's Prometheus exporter port
  CHECK(j["http"]["port"] == 8080);
}

TEST_CASE("a config file with an unknown key is refused with exit code 2 naming the key") {
  temp_dir dir;
  auto cfg = dir.write("node.json", R"({"sessions": {"ttl": 5}})");
  auto r = run(node_args({"--config", cfg}));
  CHECK(r.code == 2);
  CHECK(r.err.find(R"("sessions.ttl": unknown key (did you mean "ttl_ms"?))") != std::string::npos);
}

TEST_CASE("a config value of the wrong type is refused with exit code 2 naming the key") {
  temp_dir dir;
  auto cfg = dir.write("node.json", R"({"circuit_breaker": {"failure_threshold": "five"}})");
  auto r = run(node_args({"--config", cfg}));
  CHECK(r.code == 2);
  CHECK(r.err.find(R"("circuit_breaker.failure_threshold": must be an integer)") != std::string::npos);
}

TEST_CASE("a tenant named with a space is refused with exit code 2 naming the key") {
  temp_dir dir;
  auto cfg = dir.write("node.json", R"({"tenants": {"two words": {"tools": ["echo"]}}})");
  auto r = run(node_args({"--config", cfg}));
  CHECK(r.code == 2);
  CHECK(r.err.find(R"("tenants.two words": a tenant's name is 1 to 128 printable characters without spaces)")
        != std::string::npos);
}

TEST_CASE("a config file that is not JSON is refused with exit code 2 and the position") {
  temp_dir dir;
  auto cfg = dir.write("node.json", "{\n  \"name\": \"x\",\n}\n");
  auto r = run(node_args({"--config", cfg}));
  CHECK(r.code == 2);
  CHECK(r.err.find("is not valid JSON") != std::string::npos);
  CHECK(r.err.find("line 3") != std::string::npos);
}

TEST_CASE("an OTLP endpoint that is not an http URL is refused with exit code 2 naming the key") {
  auto https = run(node_args({"--otlp-endpoint", "https://collector:4318/v1/traces"}));
  CHECK(https.code == 2);
  CHECK(https.err.find(R"("observability.tracing.endpoint": https is not supported)") != std::string::npos);
  auto bad_port = run(node_args({"--otlp-endpoint", "http://collector:99999/v1/traces"}));
  CHECK(bad_port.code == 2);
  CHECK(bad_port.err.find("the port must be 1 … 65535") != std::string::npos);
}

TEST_CASE("a missing config file, a bad flag value or an unknown option is bad usage: exit code 2") {
  CHECK(run(node_args({"--config", "/nonexistent/node.json"})).code == 2);
  CHECK(run(node_args({"--log-level", "loud"})).code == 2);
  CHECK(run(node_args({"--no-such-option"})).code == 2);
  CHECK(run({binary}).code == 2);
  CHECK(run({binary, "frobnicate"}).code == 2);
}

TEST_CASE("cafmcp --version and --help exit 0") {
  auto v = run({binary, "--version"});
  CHECK(v.code == 0);
  CHECK(v.out.find("cafmcp ") != std::string::npos);
  auto h = run({binary, "node", "--help"});
  CHECK(h.code == 0);
  CHECK(h.out.find("--config") != std::string::npos);
}

TEST_CASE("docs/CONFIG.md lists exactly the keys the binary validates") {
  auto r = run({binary, "node", "--describe-config"});
  REQUIRE(r.code == 0);
  std::ifstream in{CAFMCP_SOURCE_DIR "/docs/CONFIG.md"};
  std::stringstream doc;
  doc << in.rdbuf();
  CHECK_MESSAGE(doc.str().find(r.out) != std::string::npos,
                "docs/CONFIG.md is out of date: run docs/update-config-reference.sh");
}
