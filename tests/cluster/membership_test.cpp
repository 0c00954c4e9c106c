// Membership as a pure class, driven by a fake clock: no processes, no sleeps.

#include <doctest/doctest.h>

#include "cluster/cookie.hpp"
#include "cluster/membership.hpp"

using namespace cafmcp::cluster;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

namespace {

/// Steady and wall time, moved forward by the test only.
struct fake_clock {
  moment t{std::chrono::steady_clock::time_point{} + std::chrono::hours{1}, 1'700'000'000'000};
  void advance(milliseconds d) {
    t.now += d;
    t.wall_ms += static_cast<uint64_t>(d.count());
  }
};

membership_config config(uint32_t unhealthy_after = 3) {
  membership_config cfg;
  cfg.heartbeat = 1000ms;
  cfg.unhealthy_after = unhealthy_after;
  cfg.remove_after = 10000ms;
  cfg.sbr.stable_after = 2000ms;
  return cfg;
}

member_info info(const std::string& name, uint64_t incarnation = 100, member_state s = member_state::up) {
  return member_info{name, "127.0.0.1", static_cast<uint16_t>(4370 + (name.back() - '0')), incarnation,
                     static_cast<uint8_t>(s)};
}

/// A heartbeat from `from` (incarnation 100) that reaches `reach` and has lost `lost`.
heartbeat beat(const std::string& from, std::vector<std::string> reach, std::vector<std::string> lost = {},
               std::vector<member_info> table = {}) {
  heartbeat hb;
  hb.from = from;
  hb.incarnation = 100;
  hb.reachable = std::move(reach);
  hb.unreachable = std::move(lost);
  hb.members = table.empty() ? std::vector<member_info>{info(from)} : std::move(table);
  return hb;
}

/// `self` founding a cluster (up) that knows `others` as up, connected members it has just heard.
membership cluster_of(const std::string& self, const std::vector<std::string>& others, fake_clock& clock,
                      membership_config cfg = config()) {
  membership m{cfg, info(self, 50), {}};
  std::vector<std::string> everyone{self};
  everyone.insert(everyone.end(), others.begin(), others.end());
  for (auto& o : others) {
    m.learn(info(o), clock.t.now);
    m.set_connected(o, true);
  }
  for (auto& o : others)
    m.on_heartbeat(beat(o, everyone), clock.t);
  return m;
}

health health_of(const membership& m, const std::string& name, const fake_clock& clock) {
  return *m.health_of(name, clock.t.now);
}

member_state state_of(const membership& m, const std::string& name) {
  return static_cast<member_state>(m.find(name)->info.state);
}

bool has_event(const std::vector<membership_event>& events, membership_event::kind_t kind, const std::string& part) {
  for (auto& e : events)
    if (e.kind == kind && e.text.find(part) != std::string::npos)
      return true;
  return false;
}

} // namespace

// -- failure detection ---------------------------------------------------------------

TEST_CASE("a member heard from within half an interval of grace is healthy with no heartbeat missed") {
  fake_clock clock;
  auto m = cluster_of("n1", {"n2"}, clock);
  clock.advance(1499ms);
  CHECK(m.missed(*m.find("n2"), clock.t.now) == 0);
  CHECK(health_of(m, "n2", clock) == health::healthy);
}

TEST_CASE("a member missing one or two heartbeats is degraded") {
  fake_clock clock;
  auto m = cluster_of("n1", {"n2"}, clock);
  clock.advance(1500ms);
  CHECK(m.missed(*m.find("n2"), clock.t.now) == 1);
  CHECK(health_of(m, "n2", clock) == health::degraded);
  clock.advance(1000ms);
  CHECK(m.missed(*m.find("n2"), clock.t.now) == 2);
  CHECK(health_of(m, "n2", clock) == health::degraded);
  CHECK(m.reachable_set(clock.t.now).count("n2") == 1);
}

TEST_CASE("a member missing three heartbeats is unhealthy and reported unreachable") {
  fake_clock clock;
  auto m = cluster_of("n1", {"n2"}, clock);
  clock.advance(3500ms);
  CHECK(m.missed(*m.find("n2"), clock.t.now) == 3);
  CHECK(health_of(m, "n2", clock) == health::unhealthy);
  auto hb = m.make_heartbeat(clock.t.now);
  CHECK(hb.reachable == std::vector<std::string>{"n1"});
  CHECK(hb.unreachable == std::vector<std::string>{"n2"});
}

TEST_CASE("the unhealthy count is unhealthy_after as configured") {
  fake_clock clock;
  auto m = cluster_of("n1", {"n2"}, clock, config(5));
  clock.advance(4500ms);
  CHECK(m.missed(*m.find("n2"), clock.t.now) == 4);
  CHECK(health_of(m, "n2", clock) == health::degraded);
  clock.advance(1000ms);
  CHECK(health_of(m, "n2", clock) == health::unhealthy);
}

TEST_CASE("a heartbeat resets a degraded member to healthy") {
  fake_clock clock;
  auto m = cluster_of("n1", {"n2"}, clock);
  clock.advance(2600ms);
  REQUIRE(health_of(m, "n2", clock) == health::degraded);
  m.on_heartbeat(beat("n2", {"n1", "n2"}), clock.t);
  CHECK(health_of(m, "n2", clock) == health::healthy);
  CHECK(m.missed(*m.find("n2"), clock.t.now) == 0);
}

TEST_CASE("a member whose connection is lost is unhealthy at once") {
  fake_clock clock;
  auto m = cluster_of("n1", {"n2"}, clock);
  m.set_connected("n2", false);
  CHECK(health_of(m, "n2", clock) == health::unhealthy);
  CHECK(m.reachable_set(clock.t.now) == std::set<std::string>{"n1"});
}

TEST_CASE("a heartbeat from another incarnation than the one known does not count as heard") {
  fake_clock clock;
  auto m = cluster_of("n1", {"n2"}, clock);
  clock.advance(3500ms);
  auto hb = beat("n2", {"n1", "n2"});
  hb.incarnation = 99; // an older incarnation's last words
  m.on_heartbeat(hb, clock.t);
  CHECK(health_of(m, "n2", clock) == health::unhealthy);
}

TEST_CASE("health changes of up members are logged once, unhealthy as a warning") {
  fake_clock clock;
  auto m = cluster_of("n1", {"n2", "n3"}, clock);
  m.tick(clock.t);
  auto first = m.take_events();
  CHECK(has_event(first, membership_event::info, "member n2: unhealthy → healthy"));
  clock.advance(3500ms);
  m.on_heartbeat(beat("n3", {"n1", "n2", "n3"}), clock.t);
  m.tick(clock.t);
  auto events = m.take_events();
  CHECK(has_event(events, membership_event::warning, "member n2: healthy → unhealthy (3 heartbeats missed)"));
  m.tick(clock.t);
  CHECK_FALSE(has_event(m.take_events(), membership_event::warning, "member n2"));
}

TEST_CASE("a member missing three heartbeats is downed by the majority once the view is stable for stable_after") {
  fake_clock clock;
  auto m = cluster_of("n1", {"n2", "n3"}, clock);
  // n3 falls silent; n2 goes on (and has not given up on n3 yet).
  for (int i = 0; i < 4; ++i) {
    clock.advance(1000ms);
    m.on_heartbeat(beat("n2", {"n1", "n2"}), clock.t);
    m.tick(clock.t);
  }
  REQUIRE(health_of(m, "n3", clock) == health::unhealthy);
  CHECK(state_of(m, "n3") == member_state::up); // the view has just changed
  clock.advance(1000ms);
  m.on_heartbeat(beat("n2", {"n1", "n2"}), clock.t);
  m.tick(clock.t);
  CHECK(state_of(m, "n3") == member_state::up); // stable for 1 s of 2
  clock.advance(1000ms);
  m.on_heartbeat(beat("n2", {"n1", "n2"}), clock.t);
  m.tick(clock.t);
  CHECK(state_of(m, "n3") == member_state::down);
  CHECK(has_event(m.take_events(), membership_event::warning, "split brain resolved (keep_majority): this side stays up"));
  CHECK_FALSE(m.fenced());
}

TEST_CASE("the leader removes a down member after remove_after") {
  fake_clock clock;
  auto m = cluster_of("n1", {"n2"}, clock);
  m.merge({info("n2", 100, member_state::down)}, "n3", clock.t);
  REQUIRE(state_of(m, "n2") == member_state::down);
  clock.advance(9900ms);
  m.tick(clock.t);
  CHECK(state_of(m, "n2") == member_state::down);
  clock.advance(100ms);
  m.tick(clock.t);
  CHECK(state_of(m, "n2") == member_state::removed);
}

// -- gossip -------------------------------------------------------------------------------

TEST_CASE("gossip: a newer incarnation of a member replaces the older one and forgets what was heard") {
  fake_clock clock;
  auto m = cluster_of("n1", {"n2"}, clock);
  REQUIRE(m.find("n2")->heard);
  m.merge({info("n2", 200, member_state::joining)}, "n3", clock.t);
  auto p = m.find("n2");
  CHECK(p->info.incarnation == 200);
  CHECK(static_cast<member_state>(p->info.state) == member_state::joining); // even though joining < up
  CHECK_FALSE(p->heard);
  CHECK(p->report.reachable.empty());
  CHECK(health_of(m, "n2", clock) == health::unhealthy);
}

TEST_CASE("gossip: an older incarnation of a member is ignored") {
  fake_clock clock;
  auto m = cluster_of("n1", {"n2"}, clock);
  m.merge({info("n2", 99, member_state::down)}, "n3", clock.t);
  CHECK(m.find("n2")->info.incarnation == 100);
  CHECK(state_of(m, "n2") == member_state::up);
}

TEST_CASE("gossip: within one incarnation a state only moves forward") {
  fake_clock clock;
  auto m = cluster_of("n1", {"n2"}, clock);
  m.merge({info("n2", 100, member_state::joining)}, "n3", clock.t);
  CHECK(state_of(m, "n2") == member_state::up);
  m.merge({info("n2", 100, member_state::leaving)}, "n3", clock.t);
  CHECK(state_of(m, "n2") == member_state::leaving);
  m.merge({info("n2", 100, member_state::up)}, "n3", clock.t);
  CHECK(state_of(m, "n2") == member_state::leaving);
  CHECK(has_event(m.take_events(), membership_event::info, "member n2: up → leaving (as n3 says)"));
}

TEST_CASE("gossip: a member removed elsewhere that this node never knew is not added") {
  fake_clock clock;
  auto m = cluster_of("n1", {"n2"}, clock);
  m.merge({info("n4", 100, member_state::removed), info("n5", 100, member_state::up)}, "n2", clock.t);
  CHECK(m.find("n4") == nullptr);
  REQUIRE(m.find("n5") != nullptr);
  CHECK(has_event(m.take_events(), membership_event::info, "member n5 (127.0.0.1:4375) is known: up"));
}

TEST_CASE("gossip: a member only just learned of gets unhealthy_after heartbeats of grace before it counts as lost") {
  fake_clock clock;
  auto m = cluster_of("n1", {"n2"}, clock);
  m.merge({info("n3")}, "n2", clock.t); // never connected, never heard
  CHECK(m.lost_set(clock.t.now).empty());
  clock.advance(2999ms);
  CHECK(m.lost_set(clock.t.now).count("n3") == 0);
  clock.advance(1ms);
  CHECK(m.lost_set(clock.t.now).count("n3") == 1);
}

TEST_CASE("gossip about an older incarnation of this node is ignored") {
  fake_clock clock;
  auto m = cluster_of("n1", {"n2"}, clock);
  m.merge({info("n1", 49, member_state::down)}, "n2", clock.t);
  CHECK(m.my_state() == member_state::up);
  CHECK(m.me().incarnation == 50);
  CHECK_FALSE(m.fenced());
}

TEST_CASE("a joining node is up once gossip says the leader admitted this incarnation") {
  fake_clock clock;
  membership m{config(), info("n2", 50, member_state::joining), {"127.0.0.1:4371"}};
  REQUIRE(m.my_state() == member_state::joining);
  m.merge({info("n2", 50, member_state::up)}, "n1", clock.t);
  CHECK(m.my_state() == member_state::up);
}

// -- rejoin and fencing ---------------------------------------------------------------------

TEST_CASE("a node that hears the others downed this incarnation fences itself and rejoins as a new incarnation") {
  fake_clock clock;
  auto m = cluster_of("n1", {"n2", "n3"}, clock);
  m.take_events();
  m.merge({info("n1", 50, member_state::down)}, "n2", clock.t);
  CHECK(m.fenced());
  CHECK(m.my_state() == member_state::joining);
  CHECK(m.me().incarnation == clock.t.wall_ms);
  auto events = m.take_events();
  CHECK(has_event(events, membership_event::fenced, "node n1 is fenced: downed by n2"));
  CHECK(has_event(events, membership_event::info, "rejoining as a new incarnation (n2 downed this incarnation)"));
  CHECK(*m.health_of("n1", clock.t.now) == health::unhealthy);
  CHECK(m.placement_members(clock.t.now).size() == 2); // n2 and n3, not this node
}

TEST_CASE("a rejoin as a new incarnation forgets what it heard before and gives peers the newcomer's grace") {
  fake_clock clock;
  auto m = cluster_of("n2", {"n1", "n3"}, clock);
  m.set_connected("n1", false);
  clock.advance(5000ms); // n1 and n3 long silent: both lost
  REQUIRE(m.lost_set(clock.t.now) == std::set<std::string>{"n1", "n3"});
  m.merge({info("n2", 50, member_state::down)}, "n3", clock.t);
  CHECK(m.find("n1")->report.reachable.empty());
  CHECK_FALSE(m.find("n3")->heard);
  // Its stale view is no evidence: nobody counts as lost until the grace is over.
  CHECK(m.make_heartbeat(clock.t.now).unreachable.empty());
  // And it dials the lower-named n1 at once instead of waiting for n1 to dial.
  auto out = m.tick(clock.t);
  REQUIRE(out.dial.size() == 1);
  CHECK(out.dial[0].port == 4371);
  clock.advance(3000ms);
  CHECK(m.lost_set(clock.t.now) == std::set<std::string>{"n1", "n3"});
}

TEST_CASE("the minority side fences itself and refuses to be counted") {
  fake_clock clock;
  auto m = cluster_of("n1", {"n2", "n3"}, clock);
  clock.advance(3500ms); // lost both
  m.tick(clock.t);
  CHECK_FALSE(m.fenced());
  clock.advance(2000ms);
  m.tick(clock.t);
  CHECK(m.fenced());
  CHECK(m.my_state() == member_state::down);
  auto events = m.take_events();
  CHECK(has_event(events, membership_event::fenced, "node n1 is fenced: keep_majority: 1 of 3 is a minority"));
  CHECK(has_event(events, membership_event::warning, "refusing MCP requests until the cluster heals"));
  auto rows = m.status_rows(clock.t.now);
  CHECK(rows[0].side == "fenced");
  CHECK(rows[1].side == "unreachable");
  CHECK(m.placement_members(clock.t.now).size() == 2);
}

TEST_CASE("a fenced node rejoins once an up member of the other side is reachable and is unfenced when admitted") {
  fake_clock clock;
  auto m = cluster_of("n1", {"n2", "n3"}, clock);
  clock.advance(3500ms);
  m.tick(clock.t);
  clock.advance(2000ms);
  m.tick(clock.t);
  REQUIRE(m.fenced());
  auto old = m.me().incarnation;
  m.on_heartbeat(beat("n2", {"n2", "n3"}), clock.t);
  m.tick(clock.t);
  CHECK(m.my_state() == member_state::joining);
  CHECK(m.me().incarnation > old);
  CHECK(m.fenced()); // still refusing until admitted
  m.take_events();
  auto admitted = m.me();
  admitted.state = static_cast<uint8_t>(member_state::up);
  m.merge({admitted}, "n2", clock.t);
  CHECK(m.my_state() == member_state::up);
  CHECK_FALSE(m.fenced());
  CHECK(has_event(m.take_events(), membership_event::unfenced, "unfenced: serving again"));
}

// -- bridges ----------------------------------------------------------------------------------

TEST_CASE("a node that reaches two members who lost each other is a bridge and fences itself") {
  fake_clock clock;
  auto m = cluster_of("n2", {"n1", "n3"}, clock);
  for (int i = 0; i < 3; ++i) {
    clock.advance(1000ms);
    m.on_heartbeat(beat("n1", {"n1", "n2"}, {"n3"}), clock.t);
    m.on_heartbeat(beat("n3", {"n2", "n3"}, {"n1"}), clock.t);
    m.tick(clock.t);
  }
  CHECK(m.fenced());
  CHECK(has_event(m.take_events(), membership_event::fenced, "this node is a bridge"));
}

TEST_CASE("the majority side downs a bridge and the members only the bridge reaches") {
  fake_clock clock;
  auto m = cluster_of("n1", {"n2", "n3"}, clock);
  for (int i = 0; i < 6; ++i) {
    clock.advance(1000ms);
    m.on_heartbeat(beat("n2", {"n1", "n2", "n3"}), clock.t); // n2 still reaches n3; n1 does not
    m.tick(clock.t);
  }
  CHECK_FALSE(m.fenced());
  CHECK(state_of(m, "n2") == member_state::down);
  CHECK(state_of(m, "n3") == member_state::down);
  // The resolver downs everyone off its side, the bridge included, and says it was a bridge.
  auto events = m.take_events();
  CHECK(has_event(events, membership_event::info, "member n2: up → down (split brain resolver: keep_majority: a tie"));
  CHECK(has_event(events, membership_event::info, "bridges {n2})"));
}

TEST_CASE("a fenced bridge rejoins only once the up members it reaches no longer report each other unreachable") {
  fake_clock clock;
  auto m = cluster_of("n2", {"n1", "n3"}, clock);
  for (int i = 0; i < 3; ++i) {
    clock.advance(1000ms);
    m.on_heartbeat(beat("n1", {"n1", "n2"}, {"n3"}), clock.t);
    m.on_heartbeat(beat("n3", {"n2", "n3"}, {"n1"}), clock.t);
    m.tick(clock.t);
  }
  REQUIRE(m.fenced());
  auto old = m.me().incarnation;
  // n1 and n3 are up and reachable but still report each other lost: stay down.
  clock.advance(1000ms);
  m.on_heartbeat(beat("n1", {"n1", "n2"}, {"n3"}), clock.t);
  m.on_heartbeat(beat("n3", {"n2", "n3"}, {"n1"}), clock.t);
  m.tick(clock.t);
  CHECK(m.my_state() == member_state::down);
  CHECK(m.me().incarnation == old);
  // The network heals between them: now the bridge rejoins.
  clock.advance(1000ms);
  m.on_heartbeat(beat("n1", {"n1", "n2", "n3"}), clock.t);
  m.on_heartbeat(beat("n3", {"n1", "n2", "n3"}), clock.t);
  m.tick(clock.t);
  CHECK(m.my_state() == member_state::joining);
  CHECK(m.me().incarnation > old);
  CHECK(has_event(m.take_events(), membership_event::info, "the members it reaches reach each other again"));
}

// -- leader -----------------------------------------------------------------------------------

TEST_CASE("the leader is the lowest-named reachable up member") {
  fake_clock clock;
  auto m = cluster_of("n2", {"n1", "n3"}, clock);
  m.tick(clock.t);
  CHECK(m.leader() == "n1");
  m.set_connected("n1", false);
  m.tick(clock.t);
  CHECK(m.leader() == "n2");
}

TEST_CASE("the leader admits reachable joining members and moves leaving ones to exiting, then removed once gone") {
  fake_clock clock;
  auto m = cluster_of("n1", {"n2", "n3"}, clock);
  m.merge({info("n2", 100, member_state::leaving)}, "n2", clock.t);
  m.merge({info("n3", 200, member_state::joining)}, "n3", clock.t);
  auto hb = beat("n3", {"n1", "n3"}, {}, {info("n3", 200, member_state::joining)});
  hb.incarnation = 200;
  m.on_heartbeat(hb, clock.t);
  m.tick(clock.t);
  CHECK(state_of(m, "n3") == member_state::up);
  CHECK(state_of(m, "n2") == member_state::exiting);
  m.tick(clock.t);
  CHECK(state_of(m, "n2") == member_state::exiting); // still connected
  m.set_connected("n2", false);
  m.tick(clock.t);
  CHECK(state_of(m, "n2") == member_state::removed);
}

TEST_CASE("a joining node alone waits for its seeds and does not lead") {
  fake_clock clock;
  membership m{config(), info("n1", 50, member_state::joining), {"127.0.0.1:4372"}};
  m.tick(clock.t);
  CHECK(m.leader().empty());
  CHECK(m.my_state() == member_state::joining);
}

TEST_CASE("while nobody is up the lowest-named joining node that reaches another leads and becomes up") {
  fake_clock clock;
  membership m{config(), info("n1", 50, member_state::joining), {"127.0.0.1:4372"}};
  m.learn(info("n2", 100, member_state::joining), clock.t.now);
  m.set_connected("n2", true);
  auto hb = beat("n2", {"n1", "n2"}, {}, {info("n2", 100, member_state::joining)});
  m.on_heartbeat(hb, clock.t);
  m.tick(clock.t);
  CHECK(m.leader() == "n1");
  CHECK(m.my_state() == member_state::up);
  CHECK(state_of(m, "n2") == member_state::up); // admitted by the new leader
}

// -- connecting, leaving ---------------------------------------------------------------------

TEST_CASE("a joining node dials its seeds once per attempt") {
  fake_clock clock;
  membership m{config(), info("n2", 50, member_state::joining), {"127.0.0.1:4371"}};
  auto first = m.tick(clock.t);
  REQUIRE(first.dial.size() == 1);
  CHECK(first.dial[0].host == "127.0.0.1");
  CHECK(first.dial[0].port == 4371);
  CHECK(m.tick(clock.t).dial.empty()); // still connecting
  m.dial_done("127.0.0.1:4371");
  CHECK(m.tick(clock.t).dial.size() == 1);
}

TEST_CASE("the lower-named member dials and the higher one waits five heartbeats for that connection") {
  fake_clock clock;
  membership high{config(), info("n2", 50), {}};
  high.merge({info("n1")}, "n3", clock.t);
  CHECK(high.tick(clock.t).dial.empty());
  clock.advance(4999ms);
  CHECK(high.tick(clock.t).dial.empty());
  clock.advance(1ms);
  CHECK(high.tick(clock.t).dial.size() == 1);

  membership low{config(), info("n1", 50), {}};
  low.merge({info("n2")}, "n3", clock.t);
  CHECK(low.tick(clock.t).dial.size() == 1);
}

TEST_CASE("a graceful leave is gossiped as leaving in the next heartbeat") {
  fake_clock clock;
  auto m = cluster_of("n1", {"n2"}, clock);
  m.leave();
  auto hb = m.make_heartbeat(clock.t.now);
  CHECK(hb.members[0].name == "n1");
  CHECK(static_cast<member_state>(hb.members[0].state) == member_state::leaving);
  CHECK(hb.seq > 0);
}
