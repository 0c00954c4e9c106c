// The programmatic cluster API in-process: two actor systems in one test,
// each with its node actor published on a loopback port.

#include <thread>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <doctest/doctest.h>

#include "actors/name_table.hpp"
#include "cluster/client.hpp"
#include "cluster/errors.hpp"
#include "cluster/messages.hpp"
#include "cluster/node.hpp"
#include "tests/support/net.hpp"

using namespace cafmcp;
using namespace std::chrono_literals;

namespace {

struct member {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::shared_ptr<actors::name_table> names = actors::name_table::make();
  caf::actor node;
  uint16_t port = 0;

  explicit member(const std::string& name) {
    cluster::register_types(cfg);
    cfg.load<caf::io::middleman>();
    cfg.set("middleman.heartbeat-interval", caf::timespan{100ms});
    cfg.set("middleman.connection-timeout", caf::timespan{1000ms});
    sys = std::make_unique<caf::actor_system>(cfg);
    port = test::free_port();
    cluster::cluster_config cc;
    cc.enabled = true;
    cc.name = name;
    cc.port = port;
    cc.cookie = "api-test-cookie";
    cc.heartbeat = 100ms;
    cc.sbr.stable_after = 300ms;
    cc.callable = {"shouter", "mute"}; // the test's own actors; the runtime's follow the call policy
    auto spec = cluster::node_actor_spec(cc, std::make_shared<cluster::cluster_view>(), names);
    auto h = spec.start(supervision::start_context{*sys, "/root/cluster_sup/node", caf::message{}});
    REQUIRE(h);
    node = *h;
  }

  /// Stops `h` and waits until it is down (bounded).
  void stop(const caf::actor& h) {
    caf::scoped_actor self{*sys};
    self->monitor(h);
    self->send_exit(h, caf::exit_reason::kill);
    self->receive([](caf::down_msg&) {}, caf::after(std::chrono::seconds(10)) >> [] {});
  }

  ~member() {
    // Every registered actor (the node and the test's targets) is stopped
    // before the system goes: its destructor waits for all of them.
    for (auto& [name, h] : names->list())
      stop(h);
    node = nullptr;
  }
};

caf::behavior shouter(caf::event_based_actor*) {
  return {[](const std::string& s) { return s + "!"; }};
}

caf::behavior mute(caf::event_based_actor*) {
  return {[](const std::string&) {}};
}

} // namespace

TEST_CASE("connect joins two nodes - get_node_health, cluster_status and distribute_call work across them") {
  member a{"a"}, b{"b"};
  REQUIRE_FALSE(cluster::connect(*a.sys, a.node, {"127.0.0.1:" + std::to_string(b.port)}, 5s));
  std::string health;
  for (int i = 0; i < 100 && health != "healthy"; ++i) { // bounded: 10 s
    std::this_thread::sleep_for(100ms);
    auto h = cluster::get_node_health(*a.sys, a.node, "b", 2s);
    health = h ? *h : a.sys->render(h.error());
  }
  CHECK(health == "healthy");
  auto rows = cluster::cluster_status(*a.sys, a.node, 2s);
  REQUIRE(rows);
  CHECK(rows->size() == 2);
  a.names->put("shouter", a.sys->spawn(shouter));
  auto local = cluster::distribute_call(*a.sys, a.node, "a", "shouter", caf::make_message(std::string{"yo"}), 5s);
  REQUIRE_MESSAGE(local, a.sys->render(local.error()));
  CHECK(local->get_as<std::string>(0) == "yo!");
  b.names->put("shouter", b.sys->spawn(shouter));
  b.names->put("mute", b.sys->spawn(mute));
  auto r = cluster::distribute_call(*a.sys, a.node, "b", "shouter", caf::make_message(std::string{"hi"}), 5s);
  REQUIRE_MESSAGE(r, a.sys->render(r.error()));
  REQUIRE(r->match_elements<std::string>());
  CHECK(r->get_as<std::string>(0) == "hi!");
  auto late = cluster::distribute_call(*a.sys, a.node, "b", "mute", caf::make_message(std::string{"hi"}), 300ms);
  REQUIRE_FALSE(late);
  CHECK(cluster::is(late.error(), cluster::errc::timeout));
  CHECK(a.sys->render(late.error()).find("mute on b") != std::string::npos);
  auto nobody = cluster::distribute_call(*a.sys, a.node, "zz", "shouter", caf::make_message(std::string{"hi"}), 2s);
  REQUIRE_FALSE(nobody);
  CHECK(cluster::is(nobody.error(), cluster::errc::unknown_node));
  auto unhealthy = cluster::get_node_health(*a.sys, a.node, "zz", 2s);
  CHECK_FALSE(unhealthy);
  // A client that does not know the cookie gets nothing.
  auto intruder = cluster::attach(*a.sys, "127.0.0.1", b.port, "not-the-cookie", 2s);
  REQUIRE_FALSE(intruder);
  CHECK(cluster::is(intruder.error(), cluster::errc::wrong_cookie));
}
