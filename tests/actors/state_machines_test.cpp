// circuit_breaker and token_bucket: pure state machines, time passed in.

#include <doctest/doctest.h>

#include "actors/circuit_breaker.hpp"
#include "actors/token_bucket.hpp"

using namespace cafmcp::actors;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

TEST_CASE("a circuit opens after failure_threshold consecutive failures") {
  circuit_breaker b{breaker_config{3, 1000ms, 1}};
  auto t = clock_type::now();
  for (int i = 0; i < 2; ++i) {
    CHECK(b.allow(t));
    b.record_failure(t);
  }
  CHECK(b.state(t) == breaker_state::closed);
  b.record_failure(t);
  CHECK(b.state(t) == breaker_state::open);
  CHECK_FALSE(b.allow(t + 999ms));
}

TEST_CASE("a success in the closed state resets the failure count") {
  circuit_breaker b{breaker_config{3, 1000ms, 1}};
  auto t = clock_type::now();
  b.record_failure(t);
  b.record_failure(t);
  b.record_success(t);
  b.record_failure(t);
  b.record_failure(t);
  CHECK(b.state(t) == breaker_state::closed);
}

TEST_CASE("an open circuit lets half_open_max_calls trial calls through after its timeout") {
  circuit_breaker b{breaker_config{1, 1000ms, 2}};
  auto t = clock_type::now();
  b.record_failure(t);
  CHECK(b.state(t) == breaker_state::open);
  CHECK(b.state(t + 1000ms) == breaker_state::half_open);
  CHECK(b.allow(t + 1000ms));
  CHECK(b.allow(t + 1001ms));
  CHECK_FALSE(b.allow(t + 1002ms));
}

TEST_CASE("a trial success closes the circuit and a trial failure reopens it") {
  auto t = clock_type::now();
  circuit_breaker ok{breaker_config{1, 100ms, 1}};
  ok.record_failure(t);
  CHECK(ok.allow(t + 100ms));
  ok.record_success(t + 101ms);
  CHECK(ok.state(t + 101ms) == breaker_state::closed);
  CHECK(ok.allow(t + 102ms));

  circuit_breaker bad{breaker_config{1, 100ms, 1}};
  bad.record_failure(t);
  CHECK(bad.allow(t + 100ms));
  bad.record_failure(t + 150ms);
  CHECK(bad.state(t + 150ms) == breaker_state::open);
  CHECK_FALSE(bad.allow(t + 249ms));
  CHECK(bad.allow(t + 250ms));
}

TEST_CASE("a token bucket allows a burst of its capacity, then refills at its rate") {
  auto t = clock_type::now();
  token_bucket tb{bucket_config{5, 10}, t};
  for (int i = 0; i < 5; ++i)
    CHECK(tb.try_take(t));
  CHECK_FALSE(tb.try_take(t));
  CHECK(tb.retry_after(t) == 100ms);
  CHECK_FALSE(tb.try_take(t + 99ms));
  CHECK(tb.try_take(t + 100ms));
  CHECK(tb.tokens(t + 10s) == doctest::Approx(5)); // never above capacity
}

TEST_CASE("a token bucket takes several tokens at once only when all are there") {
  auto t = clock_type::now();
  token_bucket tb{bucket_config{10, 1}, t};
  CHECK(tb.try_take(t, 8));
  CHECK_FALSE(tb.try_take(t, 3));
  CHECK(tb.try_take(t, 2));
  CHECK(tb.retry_after(t, 3) == 3000ms);
}
