// breaker_table and rate_limits: what tool calls, forwards and MCP requests
// are checked against, with the time passed in.

#include <doctest/doctest.h>

#include <stdexcept>

#include "actors/breaker_table.hpp"
#include "actors/core_sup.hpp"
#include "actors/rate_limits.hpp"

using namespace cafmcp::actors;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

TEST_CASE("a breaker table opens one key's circuit and leaves the others closed") {
  breaker_table t{breaker_config{3, 1000ms, 1}};
  auto now = clock_type::now();
  for (int i = 0; i < 3; ++i) {
    CHECK(t.allow("tool:bad", now).allowed);
    t.record("tool:bad", false, now);
    CHECK(t.allow("tool:good", now).allowed);
    t.record("tool:good", true, now);
  }
  auto refused = t.allow("tool:bad", now + 400ms);
  CHECK_FALSE(refused.allowed);
  CHECK(refused.retry_after == 600ms);
  CHECK(refused.failures == 3);
  CHECK(t.allow("tool:good", now + 400ms).allowed);
  CHECK(t.status("tool:bad", now).state == "open");
  CHECK(t.status("tool:bad", now).rejected == 1);
  CHECK(t.totals().opened == 1);
  CHECK(t.totals().rejected == 1);
}

TEST_CASE("a breaker table closes a circuit when its trial call succeeds and counts the recovery") {
  breaker_table t{breaker_config{1, 100ms, 1}};
  auto now = clock_type::now();
  t.record("peer:n2", false, now);
  CHECK_FALSE(t.allow("peer:n2", now + 50ms).allowed);
  CHECK(t.allow("peer:n2", now + 100ms).allowed);  // the trial
  CHECK_FALSE(t.allow("peer:n2", now + 101ms).allowed); // one trial at a time
  t.record("peer:n2", true, now + 120ms);
  CHECK(t.status("peer:n2", now + 120ms).state == "closed");
  CHECK(t.totals().closed == 1);
}

TEST_CASE("a half-open trial that never reports lets another trial go after the open timeout") {
  breaker_table t{breaker_config{1, 100ms, 1}};
  auto now = clock_type::now();
  t.record("tool:x", false, now);
  CHECK(t.allow("tool:x", now + 100ms).allowed);
  CHECK_FALSE(t.allow("tool:x", now + 199ms).allowed);
  CHECK(t.allow("tool:x", now + 200ms).allowed);
}

TEST_CASE("keys with a configured prefix open for their own time") {
  breaker_table t{breaker_config{1, 30000ms, 1}};
  t.configure_prefix("peer:", breaker_config{1, 1000ms, 1});
  auto now = clock_type::now();
  t.record("peer:n2", false, now);
  t.record("tool:x", false, now);
  CHECK(t.allow("peer:n2", now + 1000ms).allowed);
  CHECK_FALSE(t.allow("tool:x", now + 1000ms).allowed);
  CHECK(t.allow("tool:x", now + 30000ms).allowed);
}

TEST_CASE("a disabled breaker table allows every call") {
  breaker_table t{breaker_config{1, 100ms, 1}, false};
  auto now = clock_type::now();
  t.record("tool:x", false, now);
  t.record("tool:x", false, now);
  CHECK(t.allow("tool:x", now).allowed);
  CHECK(t.list(now).empty());
}

TEST_CASE("rate limits refuse a client past its burst while another client goes on") {
  rate_limit_config cfg;
  cfg.client = bucket_config{2, 4};
  rate_limits r{cfg};
  auto now = clock_type::now();
  CHECK(r.take_client("a", now).allowed);
  CHECK(r.take_client("a", now).allowed);
  auto refused = r.take_client("a", now);
  CHECK_FALSE(refused.allowed);
  CHECK(refused.retry_after_ms == 250);
  CHECK(r.take_client("b", now).allowed);
  CHECK(r.take_client("a", now + 250ms).allowed);
  auto s = r.stats();
  CHECK(s.allowed == 4);
  CHECK(s.rejected == 1);
  CHECK(s.client_rejected == 1);
  CHECK(s.keys == 2);
}

TEST_CASE("rate limits without a client limit allow every request and hold no key") {
  rate_limits r{rate_limit_config{}};
  auto now = clock_type::now();
  for (int i = 0; i < 1000; ++i)
    CHECK(r.take_client("k" + std::to_string(i), now).allowed);
  CHECK(r.stats().keys == 0);
}

TEST_CASE("a tool's limit is shared by all clients and other tools are not limited") {
  rate_limit_config cfg;
  cfg.tools["search"] = bucket_config{1, 1};
  rate_limits r{cfg};
  auto now = clock_type::now();
  CHECK(r.take_tool("search", now).allowed);
  auto refused = r.take_tool("search", now + 100ms);
  CHECK_FALSE(refused.allowed);
  CHECK(refused.retry_after_ms == 900);
  CHECK(r.take_tool("echo", now).allowed);
  CHECK(r.stats().tool_rejected == 1);
}

TEST_CASE("rate limits hold at most max_keys clients - new ones share one bucket until idle keys go") {
  rate_limit_config cfg;
  cfg.client = bucket_config{2, 1};
  cfg.max_keys = 3;
  rate_limits r{cfg};
  auto now = clock_type::now();
  for (int i = 0; i < 3; ++i)
    CHECK(r.take_client("k" + std::to_string(i), now).allowed);
  // The table is full: two new clients share the overflow bucket (capacity 2).
  CHECK(r.take_client("new1", now).allowed);
  CHECK(r.take_client("new2", now).allowed);
  CHECK_FALSE(r.take_client("new3", now).allowed);
  CHECK(r.stats().keys == 3);
  CHECK(r.stats().overflowed == 3);
  // Once the old keys' buckets have refilled they are idle and make room.
  CHECK(r.take_client("new4", now + 2s).allowed);
  CHECK(r.stats().keys == 1);
  CHECK(r.prune(now + 10s) == 0);
}

TEST_CASE("a rate limit set at run time applies at once - a malformed one is refused") {
  rate_limits r{rate_limit_config{}};
  auto now = clock_type::now();
  CHECK(r.set(rate_limit{"client", true, 1, 1}).empty());
  CHECK(r.take_client("a", now).allowed);
  CHECK_FALSE(r.take_client("a", now).allowed);
  CHECK(r.set(rate_limit{"client", false, 0, 0}).empty());
  CHECK(r.take_client("a", now).allowed);
  CHECK(r.set(rate_limit{"tool:", true, 1, 1}) != "");
  CHECK(r.set(rate_limit{"client", true, 0.5, 1}).find("capacity") != std::string::npos);
  CHECK(r.set(rate_limit{"client", true, 1, 0}).find("refill_per_second") != std::string::npos);
  auto all = r.limits();
  REQUIRE(all.size() == 1);
  CHECK_FALSE(all[0].on);
}

TEST_CASE("a per-tool limit is read as NAME=CAPACITY/PER_SECOND") {
  auto [name, b] = parse_tool_rate("search=20/5");
  CHECK(name == "search");
  CHECK(b.capacity == 20);
  CHECK(b.refill_per_second == 5);
  CHECK(parse_tool_rate("a=b=1/0.5").first == "a=b");
  for (auto bad : {"search", "=1/1", "search=20", "search=x/1", "search=0/1", "search=1/0", "search=1/1x"})
    CHECK_THROWS_AS(parse_tool_rate(bad), std::invalid_argument);
  CHECK(parse_rate("100/0.5").refill_per_second == 0.5);
  for (auto bad : {"20", "0/1", "1/0", "1/2/3", "inf/1"})
    CHECK_THROWS_AS(parse_rate(bad), std::invalid_argument);
}
