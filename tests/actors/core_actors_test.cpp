// The core actors through their messages, and core_sup as a whole.

#include <atomic>
#include <set>
#include <thread>

#include <doctest/doctest.h>

#include "actors/circuit_breakers.hpp"
#include "actors/core_sup.hpp"
#include "actors/errors.hpp"
#include "actors/messages.hpp"
#include "actors/name_table.hpp"
#include "actors/rate_limiter.hpp"
#include "actors/registry.hpp"
#include "actors/session_manager.hpp"
#include "supervision/supervisor.hpp"
#include "tests/support/actor_fixture.hpp"

using namespace cafmcp;
using namespace cafmcp::actors;
using namespace cafmcp::test;
using namespace std::chrono_literals;

namespace {

struct core_fixture : fixture {
  core_fixture() {
    actors::register_types(cfg);
  }

  caf::actor spawn_child(const supervision::child_spec& spec) {
    auto h = spec.start(supervision::start_context{sys, "/test/" + spec.id, caf::make_message()});
    REQUIRE(h);
    cleanup.push_back(*h);
    return *h;
  }

  template <class T, class... Ts>
  caf::expected<T> ask(const caf::actor& who, Ts&&... xs) {
    caf::expected<T> out{caf::make_error(caf::sec::request_timeout)};
    self->request(who, wait_limit, std::forward<Ts>(xs)...)
      .receive([&](T& x) { out = std::move(x); }, [&](caf::error& e) { out = std::move(e); });
    return out;
  }
};

// Takes an argument: CAF 0.17's spawn of a function actor without
// arguments trips UBSan inside CAF's own header (see docs/SUPERVISION.md).
caf::behavior idle(caf::event_based_actor*, int) {
  return {[](int) {}};
}

} // namespace

TEST_CASE_FIXTURE(core_fixture, "the name table keeps names unique and forgets actors that die") {
  auto table = name_table::make();
  auto a = sys.spawn(idle, 0);
  auto b = sys.spawn(idle, 0);
  CHECK(table->put("a", a));
  CHECK_FALSE(table->put("a", b));
  CHECK(table->lookup("a") == a);
  CHECK_FALSE(table->lookup("nobody"));
  caf::anon_send_exit(a, caf::exit_reason::kill);
  CHECK(wait_down(a) == caf::exit_reason::kill);
  // Cleanup runs as the actor terminates: bounded wait for it.
  for (int i = 0; i < 100 && table->lookup("a"); ++i)
    std::this_thread::sleep_for(10ms);
  CHECK_FALSE(table->lookup("a"));
  CHECK(table->put("a", b));
  caf::anon_send_exit(b, caf::exit_reason::kill);
}

TEST_CASE_FIXTURE(core_fixture, "assign hands a name to a new incarnation and the old one's death does not remove it") {
  auto table = name_table::make();
  auto old_one = sys.spawn(idle, 0);
  auto new_one = sys.spawn(idle, 0);
  table->assign("svc", old_one);
  table->assign("svc", new_one);
  caf::anon_send_exit(old_one, caf::exit_reason::kill);
  wait_down(old_one);
  std::this_thread::sleep_for(50ms);
  CHECK(table->lookup("svc") == new_one);
  CHECK(table->size() == 1);
  caf::anon_send_exit(new_one, caf::exit_reason::kill);
}

TEST_CASE_FIXTURE(core_fixture, "erasing or replacing the only reference to a registered actor does not deadlock") {
  // The table holds the last reference: releasing it ends the actor, whose
  // cleanup takes the table's write lock. Run in a thread so a deadlock
  // fails the test instead of hanging it.
  auto table = name_table::make();
  std::atomic<bool> done{false};
  std::thread t([&] {
    table->put("only", sys.spawn(idle, 0));
    CHECK(table->erase("only"));
    table->assign("svc", sys.spawn(idle, 0));
    table->assign("svc", sys.spawn(idle, 0));
    done = true;
  });
  for (int i = 0; i < 500 && !done; ++i)
    std::this_thread::sleep_for(10ms);
  REQUIRE(done);
  t.join();
  CHECK(table->size() == 1);
}

TEST_CASE_FIXTURE(core_fixture, "name table lookups from several threads see every registered name") {
  auto table = name_table::make();
  std::vector<caf::actor> actors_;
  for (int i = 0; i < 50; ++i) {
    actors_.push_back(sys.spawn(idle, 0));
    REQUIRE(table->put("n" + std::to_string(i), actors_.back()));
  }
  std::atomic<int> misses{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t)
    readers.emplace_back([&] {
      for (int round = 0; round < 1000; ++round)
        for (int i = 0; i < 50; ++i)
          if (!table->lookup("n" + std::to_string(i)))
            ++misses;
    });
  for (auto& r : readers)
    r.join();
  CHECK(misses == 0);
  CHECK(table->list().size() == 50);
  for (auto& a : actors_)
    caf::anon_send_exit(a, caf::exit_reason::kill);
}

TEST_CASE_FIXTURE(core_fixture, "the registry registers, finds, lists and unregisters names") {
  auto table = name_table::make();
  auto reg = spawn_child(registry_spec(table));
  auto worker = sys.spawn(idle, 0);
  CHECK(ask<caf::ok_atom>(reg, register_atom::value, std::string{"w"}, worker));
  auto dup = ask<caf::ok_atom>(reg, register_atom::value, std::string{"w"}, worker);
  CHECK(is(dup.error(), errc::already_registered));
  CHECK(*ask<caf::actor>(reg, whereis_atom::value, std::string{"w"}) == worker);
  CHECK(*ask<std::vector<std::string>>(reg, registered_atom::value) == std::vector<std::string>{"w"});
  CHECK(ask<caf::ok_atom>(reg, unregister_atom::value, std::string{"w"}));
  CHECK(is(ask<caf::actor>(reg, whereis_atom::value, std::string{"w"}).error(), errc::not_found));
  CHECK(is(ask<caf::ok_atom>(reg, unregister_atom::value, std::string{"w"}).error(), errc::not_found));
  CHECK(is(ask<caf::ok_atom>(reg, register_atom::value, std::string{""}, worker).error(),
           errc::invalid_argument));
  caf::anon_send_exit(worker, caf::exit_reason::kill);
}

TEST_CASE_FIXTURE(core_fixture, "the session manager creates, gets, touches, lists and deletes sessions") {
  auto sm = spawn_child(session_manager_spec(session_config{}));
  auto s1 = ask<session_record>(sm, session_create_atom::value, int64_t{0});
  REQUIRE(s1);
  CHECK(s1->id.size() == 32);
  CHECK(s1->ttl_ms == 30 * 60 * 1000);
  auto s2 = ask<session_record>(sm, session_create_atom::value, int64_t{5000});
  REQUIRE(s2);
  CHECK(s2->ttl_ms == 5000);
  CHECK(s1->id != s2->id);
  CHECK(ask<session_record>(sm, session_get_atom::value, s1->id)->id == s1->id);
  std::this_thread::sleep_for(5ms);
  CHECK(ask<caf::ok_atom>(sm, session_touch_atom::value, s1->id));
  CHECK(ask<session_record>(sm, session_get_atom::value, s1->id)->last_active_ms > s1->last_active_ms);
  CHECK(ask<std::vector<session_record>>(sm, session_list_atom::value)->size() == 2);
  CHECK(ask<caf::ok_atom>(sm, session_put_atom::value, s2->id, std::string{"k"}, std::string{"v"}));
  CHECK(ask<session_record>(sm, session_get_atom::value, s2->id)->data.at("k") == "v");
  CHECK(is(ask<caf::ok_atom>(sm, session_put_atom::value, std::string{"nope"}, std::string{"k"},
                             std::string{"v"}).error(),
           errc::not_found));
  CHECK(ask<caf::ok_atom>(sm, session_delete_atom::value, s1->id));
  CHECK(is(ask<session_record>(sm, session_get_atom::value, s1->id).error(), errc::not_found));
  CHECK(is(ask<caf::ok_atom>(sm, session_touch_atom::value, s1->id).error(), errc::not_found));
  CHECK(is(ask<caf::ok_atom>(sm, session_delete_atom::value, s1->id).error(), errc::not_found));
  CHECK(is(ask<session_record>(sm, session_create_atom::value, int64_t{-1}).error(),
           errc::invalid_argument));
}

TEST_CASE_FIXTURE(core_fixture, "sessions expire after their TTL unless touched") {
  auto sm = spawn_child(session_manager_spec(session_config{300ms, 20ms}));
  auto idle_one = ask<session_record>(sm, session_create_atom::value, int64_t{0});
  auto busy_one = ask<session_record>(sm, session_create_atom::value, int64_t{0});
  REQUIRE(idle_one);
  REQUIRE(busy_one);
  bool idle_gone = false;
  for (int i = 0; i < 40 && !idle_gone; ++i) { // bounded: at most 2 s
    std::this_thread::sleep_for(50ms);
    CHECK(ask<caf::ok_atom>(sm, session_touch_atom::value, busy_one->id));
    idle_gone = !ask<session_record>(sm, session_get_atom::value, idle_one->id);
  }
  CHECK(idle_gone);
  CHECK(ask<session_record>(sm, session_get_atom::value, busy_one->id));
}

TEST_CASE_FIXTURE(core_fixture, "the breakers actor opens a circuit per key") {
  auto cb = spawn_child(circuit_breakers_spec(std::make_shared<breaker_table>(breaker_config{2, 60000ms, 1})));
  CHECK(*ask<bool>(cb, breaker_allow_atom::value, std::string{"tool:x"}));
  caf::anon_send(cb, breaker_failure_atom::value, std::string{"tool:x"});
  caf::anon_send(cb, breaker_failure_atom::value, std::string{"tool:x"});
  CHECK_FALSE(*ask<bool>(cb, breaker_allow_atom::value, std::string{"tool:x"}));
  CHECK(*ask<bool>(cb, breaker_allow_atom::value, std::string{"tool:y"}));
  auto st = ask<breaker_status>(cb, breaker_state_atom::value, std::string{"tool:x"});
  CHECK(st->state == "open");
  CHECK(st->failures == 2);
  CHECK(st->opened == 1);
  CHECK(st->rejected == 1);
  CHECK(st->retry_after_ms > 59000);
  CHECK(ask<std::vector<breaker_status>>(cb, breaker_list_atom::value)->size() == 2);
}

TEST_CASE_FIXTURE(core_fixture, "the rate limiter refuses a key past its burst and says when to retry") {
  rate_limit_config cfg;
  cfg.client = bucket_config{3, 1};
  auto rl = spawn_child(rate_limiter_spec(std::make_shared<rate_limits>(cfg)));
  for (int i = 0; i < 3; ++i)
    CHECK(ask<rate_decision>(rl, rate_take_atom::value, std::string{"client-a"}, 1.0)->allowed);
  auto refused = ask<rate_decision>(rl, rate_take_atom::value, std::string{"client-a"}, 1.0);
  CHECK_FALSE(refused->allowed);
  CHECK(refused->retry_after_ms > 0);
  CHECK(refused->retry_after_ms <= 1000);
  CHECK(ask<rate_decision>(rl, rate_take_atom::value, std::string{"client-b"}, 1.0)->allowed);
  CHECK(is(ask<rate_decision>(rl, rate_take_atom::value, std::string{"c"}, 0.0).error(),
           errc::invalid_argument));
  CHECK(is(ask<rate_decision>(rl, rate_take_atom::value, std::string{"c"}, 4.0).error(),
           errc::invalid_argument));
  // What /metrics reports: granted and refused takes (invalid ones are neither), and the keys held.
  auto stats = ask<rate_stats>(rl, rate_stats_atom::value);
  REQUIRE(stats);
  CHECK(stats->allowed == 4);
  CHECK(stats->rejected == 1);
  CHECK(stats->keys == 2);
}

TEST_CASE_FIXTURE(core_fixture, "the rate limiter changes a limit at run time and refuses a malformed one") {
  auto limits = std::make_shared<rate_limits>(rate_limit_config{});
  auto rl = spawn_child(rate_limiter_spec(limits));
  CHECK(is(ask<rate_decision>(rl, rate_take_atom::value, std::string{"a"}, 1.0).error(), errc::invalid_argument));
  auto set = ask<std::vector<rate_limit>>(rl, rate_set_atom::value, rate_limit{"tool:search", true, 1, 0.5});
  REQUIRE(set);
  REQUIRE(set->size() == 2);
  CHECK(set->at(1).scope == "tool:search");
  // The request path sees the change at once: it shares the table.
  auto now = std::chrono::steady_clock::now();
  CHECK(limits->take_tool("search", now).allowed);
  CHECK_FALSE(limits->take_tool("search", now).allowed);
  CHECK(is(ask<std::vector<rate_limit>>(rl, rate_set_atom::value, rate_limit{"tool:x", true, 0, 1}).error(),
           errc::invalid_argument));
  CHECK(is(ask<std::vector<rate_limit>>(rl, rate_set_atom::value, rate_limit{"clients", true, 5, 1}).error(),
           errc::invalid_argument));
  CHECK(ask<std::vector<rate_limit>>(rl, rate_set_atom::value, rate_limit{"tool:search", false, 0, 0})->size() == 1);
  CHECK(limits->take_tool("search", now).allowed);
}

TEST_CASE_FIXTURE(core_fixture, "core_sup registers its actors and restarts all of them when one dies") {
  auto names = name_table::make();
  auto root = start_sup(supervision::supervisor_flags{}, {core_supervisor(core_config{}, names)}, "/root");
  REQUIRE(supervision::await_started(sys, root, 5s) == caf::none);
  std::map<std::string, caf::actor> before;
  for (auto& n : core_actor_names()) {
    before[n] = names->lookup(n);
    CHECK_MESSAGE(before[n], n);
  }
  auto core = child(root, "core_sup");
  caf::anon_send_exit(names->lookup("session_manager"), caf::exit_reason::kill);
  // one_for_all: every core actor gets a new incarnation (bounded wait).
  bool all_new = false;
  for (int i = 0; i < 100 && !all_new; ++i) {
    std::this_thread::sleep_for(20ms);
    all_new = true;
    for (auto& n : core_actor_names()) {
      auto h = names->lookup(n);
      all_new = all_new && h && h != before[n];
    }
  }
  CHECK(all_new);
  for (auto& row : which_children(core))
    CHECK(row.state == "running");
  caf::anon_send_exit(root, caf::exit_reason::user_shutdown);
  CHECK(wait_down(root) == caf::exit_reason::user_shutdown);
}

TEST_CASE_FIXTURE(core_fixture, "registering one actor again and again attaches one cleanup and still forgets it on exit") {
  auto table = name_table::make();
  auto a = sys.spawn(idle, 0);
  for (int i = 0; i < 1000; ++i) {
    REQUIRE(table->put("x", a));
    REQUIRE(table->erase("x"));
  }
  REQUIRE(table->put("x", a));
  REQUIRE(table->put("y", a));
  caf::anon_send_exit(a, caf::exit_reason::kill);
  wait_down(a);
  for (int i = 0; i < 100 && table->size() > 0; ++i)
    std::this_thread::sleep_for(10ms);
  CHECK(table->size() == 0);
}
