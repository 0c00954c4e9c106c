// The metrics registry: series by labels, the Prometheus text format, and
// recording from many threads at once.

#include <thread>

#include <doctest/doctest.h>

#include "base/metrics.hpp"

using namespace cafmcp::metrics;

TEST_CASE("a counter series is found again by its labels - other labels are another series") {
  metrics_registry m;
  auto& a = m.counter("cafmcp_requests_total", "requests", {{"method", "tools/call"}, {"outcome", "ok"}});
  auto& b = m.counter("cafmcp_requests_total", "requests", {{"method", "tools/call"}, {"outcome", "ok"}});
  auto& c = m.counter("cafmcp_requests_total", "requests", {{"method", "ping"}, {"outcome", "ok"}});
  CHECK(&a == &b);
  CHECK(&a != &c);
  a.inc();
  b.inc(2);
  CHECK(a.value() == 3);
  CHECK(c.value() == 0);
  CHECK_THROWS_AS(m.gauge("cafmcp_requests_total", "not a gauge"), std::logic_error);
}

TEST_CASE("the text format has HELP and TYPE per family, escaped label values and cumulative histogram buckets") {
  metrics_registry m;
  m.counter("b_total", "a counter", {{"path", "a\"b\\c\nd"}}).inc(7);
  m.gauge("a_gauge", "a gauge").set(2.5);
  auto& h = m.histogram("c_seconds", "a histogram", {{"method", "x"}}, {0.1, 1});
  h.observe(0.05);
  h.observe(0.5);
  h.observe(5);
  auto text = m.render();
  CHECK(text.find("# HELP a_gauge a gauge\n# TYPE a_gauge gauge\na_gauge 2.5\n") == 0); // sorted by name
  CHECK(text.find("b_total{path=\"a\\\"b\\\\c\\nd\"} 7\n") != std::string::npos);
  CHECK(text.find("c_seconds_bucket{method=\"x\",le=\"0.1\"} 1\n") != std::string::npos);
  CHECK(text.find("c_seconds_bucket{method=\"x\",le=\"1\"} 2\n") != std::string::npos);
  CHECK(text.find("c_seconds_bucket{method=\"x\",le=\"+Inf\"} 3\n") != std::string::npos);
  CHECK(text.find("c_seconds_count{method=\"x\"} 3\n") != std::string::npos);
  CHECK(text.find("c_seconds_sum{method=\"x\"} 5.55\n") != std::string::npos);
  auto totals = m.histogram_totals("c_seconds");
  CHECK(totals.second == std::vector<uint64_t>{1, 2, 3});
}

TEST_CASE("counters and histograms take records from many threads at once without losing any") {
  metrics_registry m;
  auto& c = m.counter("n_total", "n");
  auto& h = m.histogram("d_seconds", "d", {}, metrics_registry::latency_buckets());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 25000; ++i) {
        c.inc();
        h.observe(0.001);
      }
    });
  for (auto& t : threads)
    t.join();
  CHECK(c.value() == 100000);
  CHECK(h.count() == 100000);
  CHECK(h.cumulative().back() == 100000);
}

TEST_CASE("a capped label keeps its first values and reads any later one as other") {
  label_cap tenants{2};
  CHECK(tenants("acme") == "acme");
  CHECK(tenants("globex") == "globex");
  CHECK(tenants("initech") == "other");
  CHECK(tenants("acme") == "acme"); // a value seen before keeps its own series
}

TEST_CASE("retiring a label value takes its series out of every family - the rest stay, and it starts again from 0") {
  metrics_registry m;
  auto& gone = m.counter("cafmcp_upstream_calls_total", "calls", {{"upstream", "mirror"}, {"outcome", "ok"}});
  m.counter("cafmcp_upstream_starts_total", "starts", {{"upstream", "mirror"}}).inc();
  m.counter("cafmcp_upstream_calls_total", "calls", {{"upstream", "everything"}, {"outcome", "ok"}}).inc(2);
  gone.inc(5);
  CHECK(m.retire("upstream", "mirror") == 2);
  auto text = m.render();
  CHECK(text.find("upstream=\"mirror\"") == std::string::npos);
  CHECK(text.find("upstream=\"everything\"") != std::string::npos);
  gone.inc(); // an old holder counts on, unread
  CHECK(m.counter("cafmcp_upstream_calls_total", "calls", {{"upstream", "mirror"}, {"outcome", "ok"}}).value() == 0);
  CHECK(m.retire("upstream", "nothing") == 0);
}
