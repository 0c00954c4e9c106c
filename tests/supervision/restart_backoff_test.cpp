// Restart delays under a backoff policy: growth, cap, jitter, reset.

#include <doctest/doctest.h>

#include "supervision/restart_backoff.hpp"

using namespace cafmcp::supervision;
using namespace std::chrono_literals;

namespace {
const auto t0 = restart_backoff::time_point{} + 1000h;
} // namespace

TEST_CASE("restart delays double from initial up to max while the child keeps dying at once") {
  backoff_policy p{100ms, 1000ms};
  restart_backoff b;
  std::vector<long> delays;
  for (int i = 0; i < 6; ++i)
    delays.push_back(static_cast<long>(b.next(p, t0, t0 + 10ms, 0.5).count()));
  CHECK(delays == std::vector<long>{100, 200, 400, 800, 1000, 1000});
}

TEST_CASE("the restart delay grows by the policy's multiplier") {
  backoff_policy p{100ms, 10000ms, 3.0};
  restart_backoff b;
  CHECK(b.next(p, t0, t0, 0.5) == 100ms);
  CHECK(b.next(p, t0, t0, 0.5) == 300ms);
  CHECK(b.next(p, t0, t0, 0.5) == 900ms);
}

TEST_CASE("jitter spreads a restart delay within plus or minus its share, never past max") {
  backoff_policy p{1000ms, 1200ms, 2.0, 0.2};
  restart_backoff low, high, mid;
  CHECK(low.next(p, t0, t0, 0.0) == 800ms);
  CHECK(high.next(p, t0, t0, 0.999999) == 1199ms);
  CHECK(mid.next(p, t0, t0, 0.5) == 1000ms);
  // The second delay (2000 ms, capped at 1200) stays within max whatever the draw.
  CHECK(high.next(p, t0, t0, 0.999999) <= 1200ms);
  CHECK(low.next(p, t0, t0, 0.0) == 960ms);
}

TEST_CASE("a child that stayed up for reset_after (default max) starts its backoff over") {
  backoff_policy p{100ms, 1000ms};
  restart_backoff b;
  b.next(p, t0, t0, 0.5);
  b.next(p, t0, t0, 0.5);
  CHECK(b.streak() == 2);
  CHECK(b.next(p, t0, t0 + 999ms, 0.5) == 400ms); // not stable long enough
  CHECK(b.next(p, t0, t0 + 1000ms, 0.5) == 100ms); // up for max: over
  backoff_policy quick{100ms, 1000ms, 2.0, 0, 50ms};
  restart_backoff r;
  r.next(quick, t0, t0, 0.5);
  CHECK(r.next(quick, t0, t0 + 50ms, 0.5) == 100ms);
}
