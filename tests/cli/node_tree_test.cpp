// The node's three-tier tree, started in-process.

#include <thread>

#include <doctest/doctest.h>

#include "actors/core_sup.hpp"
#include "actors/messages.hpp"
#include "cli/node_config.hpp"
#include "cli/node_tree.hpp"
#include "observability/health.hpp"
#include "supervision/supervisor.hpp"
#include "supervision/tree.hpp"
#include "tests/support/actor_fixture.hpp"
#include "tests/support/process.hpp"

using namespace cafmcp;
using namespace cafmcp::test;
using namespace std::chrono_literals;

namespace {

struct node_fixture {
  cli::node_config cfg = [] {
    cli::node_overrides o;
    o.name = "t";
    o.metrics_port = 0; // never a fixed port in tests
    return cli::load_node_config(std::nullopt, o);
  }();
  caf::actor_system_config sys_cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::shared_ptr<actors::name_table> names = actors::name_table::make();
  caf::actor root;

  node_fixture() {
    cli::configure_actor_system(sys_cfg, cfg);
    sys = std::make_unique<caf::actor_system>(sys_cfg);
    auto flags = cfg.tier_flags;
    root = supervision::spawn_supervisor(*sys, "/root", flags, cli::node_tree(cfg, names));
    REQUIRE(supervision::await_started(*sys, root, 10s) == caf::none);
  }

  ~node_fixture() {
    // Keep the handle until the tree is down: CAF 0.17 handles an exit
    // request by touching its sender's address (here: root itself).
    caf::scoped_actor self{*sys};
    self->monitor(root);
    caf::anon_send_exit(root, caf::exit_reason::user_shutdown);
    self->receive([](caf::down_msg&) {}, caf::after(10s) >> [] {});
  }

  supervision::tree_node tree() {
    auto t = supervision::collect_tree(*sys, root, "root", "/root", 5s);
    REQUIRE(t);
    return *t;
  }
};

} // namespace

TEST_CASE_FIXTURE(node_fixture, "a node starts the three-tier tree of the architecture") {
  auto t = tree();
  std::vector<std::string> tiers;
  for (auto& c : t.children)
    tiers.push_back(c.id);
  CHECK(tiers == std::vector<std::string>{"core_sup", "protocol_sup", "cluster_sup", "observability_sup", "chaos"});
  auto core = supervision::find_node(t, "core_sup");
  REQUIRE(core);
  CHECK(core->strategy == "one_for_all");
  std::vector<std::string> core_ids;
  for (auto& c : core->children)
    core_ids.push_back(c.id);
  CHECK(core_ids == actors::core_actor_names());
  CHECK(supervision::find_node(t, "protocol_sup/server_sup")->strategy == "simple_one_for_one");
  CHECK(supervision::find_node(t, "protocol_sup/transport_sup")->strategy == "simple_one_for_one");
  CHECK(supervision::find_node(t, "cluster_sup")->strategy == "rest_for_one");
  CHECK(supervision::find_node(t, "observability_sup")->strategy == "one_for_one");
  CHECK(supervision::find_node(t, "observability_sup/health"));
}

TEST_CASE_FIXTURE(node_fixture, "killing tier-3 actors again and again neither restarts nor disturbs tier 1") {
  auto before = tree();
  auto core_before = *supervision::find_node(before, "core_sup");
  auto protocol_before = *supervision::find_node(before, "protocol_sup");
  caf::scoped_actor self{*sys};
  // Kill health 40 times, as fast as it comes back: observability_sup exceeds
  // its own intensity (10 in 10 s) and is restarted by root with a backoff.
  int kills = 0;
  for (int round = 0; round < 400 && kills < 40; ++round) {
    auto t = tree();
    auto obs = supervision::find_node(t, "observability_sup");
    if (obs && obs->state == "running") {
      if (auto h = supervision::find_node(*obs, "health"); h && h->handle) {
        caf::anon_send_exit(h->handle, caf::exit_reason::kill);
        ++kills;
      }
    }
    // Meanwhile tier 1 keeps answering.
    auto sm = names->lookup("session_manager");
    REQUIRE(sm);
    bool answered = false;
    self->request(sm, 2s, actors::session_create_atom::value, int64_t{0})
      .receive([&](actors::session_record&) { answered = true; }, [](caf::error&) {});
    CHECK(answered);
    std::this_thread::sleep_for(10ms);
  }
  CHECK(kills >= 12); // enough to trip observability_sup's intensity
  auto after = tree();
  auto core_after = *supervision::find_node(after, "core_sup");
  CHECK(core_after.actor_id == core_before.actor_id);
  CHECK(core_after.restarts == 0);
  for (size_t i = 0; i < core_before.children.size(); ++i) {
    CHECK(core_after.children[i].actor_id == core_before.children[i].actor_id);
    CHECK(core_after.children[i].restarts == 0);
  }
  CHECK(supervision::find_node(after, "protocol_sup")->actor_id == protocol_before.actor_id);
  CHECK(supervision::find_node(after, "observability_sup")->restarts >= 1);
}

TEST_CASE_FIXTURE(node_fixture, "the health checker reports the core actors") {
  auto t = tree();
  auto health = supervision::find_node(t, "observability_sup/health");
  REQUIRE(health);
  caf::scoped_actor self{*sys};
  observability::health_report report;
  self->request(health->handle, 5s, observability::health_atom::value)
    .receive([&](observability::health_report& r) { report = r; }, [](caf::error&) {});
  CHECK(report.status == "healthy");
  CHECK(report.checks.size() == actors::core_actor_names().size());
}

TEST_CASE_FIXTURE(node_fixture, "server_sup and transport_sup start children from a start function") {
  auto t = tree();
  auto server_sup = supervision::find_node(t, "protocol_sup/server_sup")->handle;
  caf::scoped_actor self{*sys};
  caf::error err;
  self->request(server_sup, 5s, supervision::start_child_atom::value, caf::make_message(42))
    .receive([](caf::actor&) {}, [&](caf::error& e) { err = e; });
  CHECK(supervision::is(err, supervision::errc::start_failed));
  CHECK(sys->render(err).find("start function") != std::string::npos);
  supervision::start_function start = [](const supervision::start_context& ctx) -> caf::expected<caf::actor> {
    return ctx.system.spawn([](caf::event_based_actor*, int) -> caf::behavior { return {[](int) {}}; }, 0);
  };
  caf::actor child;
  self->request(server_sup, 5s, supervision::start_child_atom::value, caf::make_message(start))
    .receive([&](caf::actor& h) { child = h; }, [&](caf::error& e) { FAIL(sys->render(e)); });
  CHECK(child);
}

TEST_CASE("supervision.restart_backoff sets the restart delays of the children that talk to the outside") {
  temp_dir dir;
  auto file = dir.write("node.json", R"({"supervision": {"restart_backoff": {"initial_ms": 250, "max_ms": 4000,
    "multiplier": 3, "jitter": 0.5, "reset_after_ms": 9000}}, "observability": {"port": 0}})");
  auto cfg = cli::load_node_config(file, cli::node_overrides{});
  auto tree = cli::node_tree(cfg, actors::name_table::make());
  const supervision::child_spec* obs = nullptr;
  for (auto& c : tree)
    if (c.id == "observability_sup")
      obs = &c;
  REQUIRE(obs != nullptr);
  CHECK(obs->backoff.initial == 250ms);
  CHECK(obs->backoff.max == 4000ms);
  CHECK(obs->backoff.multiplier == 3);
  CHECK(obs->backoff.jitter == 0.5);
  CHECK(obs->backoff.reset_after == 9000ms);
  // Tier 3 is optional (parked, never escalated); tiers 1 and 2 keep OTP's escalation.
  for (auto& c : tree)
    CHECK_MESSAGE(c.optional == (c.id == "observability_sup" || c.id == "chaos"), c.id);
  auto bad = dir.write("bad.json", R"({"supervision": {"restart_backoff": {"initial_ms": 5000, "max_ms": 1000}}})");
  CHECK_THROWS_WITH_AS(cli::load_node_config(bad, cli::node_overrides{}),
                       doctest::Contains("supervision.restart_backoff.initial_ms"), std::exception);
}

TEST_CASE("upstreams in the config become upstream servers by name, each entry checked with its key named") {
  temp_dir dir;
  auto file = dir.write("node.json", R"({"upstreams": {"everything": {"command": ["npx", "server-everything"],
    "env": ["A=1"], "call_timeout_ms": 5000}, "fs": {"command": ["mcp-fs", "/srv"]}}})");
  auto cfg = cli::load_node_config(file, cli::node_overrides{});
  REQUIRE(cfg.upstreams.size() == 2);
  CHECK(cfg.upstreams[0].name == "everything");
  CHECK(cfg.upstreams[0].command == std::vector<std::string>{"npx", "server-everything"});
  CHECK(cfg.upstreams[0].env == std::vector<std::string>{"A=1"});
  CHECK(cfg.upstreams[0].call_timeout == 5000ms);
  CHECK(cfg.upstreams[1].start_timeout == 30000ms); // the default
  auto error_of = [&](const std::string& text) {
    try {
      cli::load_node_config(dir.write("bad.json", text), cli::node_overrides{});
    } catch (const std::exception& e) {
      return std::string{e.what()};
    }
    return std::string{};
  };
  CHECK(error_of(R"({"upstreams": {"x": {"comand": ["a"]}}})")
        == R"("upstreams.x.comand": unknown key (did you mean "command"?))");
  CHECK(error_of(R"({"upstreams": {"x": {}}})").find(R"("upstreams.x.command": needs the program to run)") == 0);
  CHECK(error_of(R"({"upstreams": {"Bad.Name": {"command": ["a"]}}})").find(R"("upstreams.Bad.Name": an upstream's name)") == 0);
  CHECK(error_of(R"({"upstreams": {"x": {"command": ["a"], "env": ["NOEQUALS"]}}})")
        == R"("upstreams.x.env[0]": must be NAME=value, got "NOEQUALS")");
  CHECK(error_of(R"({"upstreams": {"x": {"command": ["a"], "call_timeout_ms": 1}}})")
        == R"("upstreams.x.call_timeout_ms": must be at least 10, got 1)");
  CHECK(error_of(R"({"upstreams": []})") == R"("upstreams": must be an object of named entries, got a list [])");
  CHECK(error_of(R"({"upstreams": {"x": {"url": "ftp://a/mcp"}}})")
        == R"("upstreams.x.url": must be an http:// or https:// URL, got "ftp://a/mcp")");
  CHECK(error_of(R"({"upstreams": {"x": {"url": "http://a/mcp", "command": ["b"]}}})")
        == R"("upstreams.x": has both command and url: an upstream is a program or a URL)");
  CHECK(error_of(R"({"upstreams": {"x": {"url": "http://a/mcp", "headers": ["NoColon"]}}})")
        == R"("upstreams.x.headers[0]": must be "Name: value")");
  auto http = cli::load_node_config(dir.write("http.json", R"({"upstreams": {"remote": {"url": "https://mcp.example.com/mcp",
    "headers": ["Authorization: Bearer t"]}}})"), cli::node_overrides{});
  REQUIRE(http.upstreams.size() == 1);
  CHECK(http.upstreams[0].url == "https://mcp.example.com/mcp");
  CHECK(http.upstreams[0].headers == std::vector<std::string>{"Authorization: Bearer t"});
}
