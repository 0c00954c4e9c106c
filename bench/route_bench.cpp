// Routing decisions with 1,000 rules (globs and regexes mixed): the time of
// one decision (p50/p99/max over single timed decisions, the cache warm as a
// running node's is), the cache hit ratio, and the cost of a cache miss.
// Prints its figures (docs/PERFORMANCE.md); asserts nothing.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "protocol/route_table.hpp"

using namespace cafmcp::protocol;
using clock_type = std::chrono::steady_clock;

namespace {

std::vector<route_rule> make_rules(size_t n) {
  std::vector<route_rule> rules;
  for (size_t i = 0; i < n; ++i) {
    route_rule r;
    r.id = "r" + std::to_string(i);
    r.priority = static_cast<int>(i % 7);
    r.tenant = i % 5 == 0 ? "tenant" + std::to_string(i % 50) : "*";
    if (i % 3 == 0)
      r.name_regex = "^ns" + std::to_string(i) + "\\.(get|put)-[a-z]+$"; // a third are regexes
    else
      r.name = "ns" + std::to_string(i) + ".*";
    if (i % 10 == 0)
      r.headers = {{"x-canary", "1"}};
    route_target a, b;
    a.ns = "a" + std::to_string(i);
    a.weight = 3;
    b.ns = "b" + std::to_string(i);
    r.targets = {a, b};
    route_target f;
    f.tool = "echo";
    r.fallbacks = {f};
    rules.push_back(std::move(r));
  }
  return rules;
}

double percentile(std::vector<double>& v, double p) {
  auto k = static_cast<size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

} // namespace

int main() {
  const size_t rule_count = 1000;
  route_table table{make_rules(rule_count), 1};
  // Requests as a node sees them: a few hundred distinct tool names, some
  // tenants, a canary header now and then.
  std::mt19937_64 rng{7};
  std::vector<std::string> names, tenants;
  for (int i = 0; i < 300; ++i)
    names.push_back("ns" + std::to_string((i * 37) % (rule_count + 200)) + (i % 2 ? ".get-item" : ".list"));
  for (int i = 0; i < 20; ++i)
    tenants.push_back(i == 0 ? "" : "tenant" + std::to_string(i * 5));
  auto available = [](const std::string& tool, const std::string&) { return tool[0] != 'b'; }; // every b target down
  std::uniform_real_distribution<double> pick{0.0, 1.0};
  const int samples = 200000;
  std::vector<double> us;
  us.reserve(samples);
  size_t matched = 0;
  for (int i = 0; i < samples; ++i) {
    auto& name = names[rng() % names.size()];
    auto& tenant = tenants[rng() % tenants.size()];
    bool canary = rng() % 4 == 0;
    route_request req{tenant, "tools/call", name, [canary](const std::string& h) -> std::optional<std::string> {
                        if (canary && h == "x-canary")
                          return std::string{"1"};
                        return std::nullopt;
                      }};
    auto t0 = clock_type::now();
    auto d = table.decide(req, pick(rng), available);
    auto t1 = clock_type::now();
    matched += d ? 1 : 0;
    us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  auto hits = table.cache_hits();
  auto lookups = table.lookups();
  auto p50 = percentile(us, 0.50), p99 = percentile(us, 0.99), p999 = percentile(us, 0.999);
  auto max = *std::max_element(us.begin(), us.end());
  // A miss: a table with an empty cache, each name asked once.
  std::vector<double> miss;
  for (int round = 0; round < 5; ++round) {
    route_table cold{make_rules(rule_count), 2};
    for (auto& name : names) {
      route_request req{"", "tools/call", name, nullptr};
      auto t0 = clock_type::now();
      cold.decide(req, 0.5, available);
      miss.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - t0).count());
    }
  }
  std::printf("routing decisions, %zu rules (a third regexes, a fifth per tenant, a tenth on a header):\n", rule_count);
  std::printf("  %d decisions, %zu matched a rule\n", samples, matched);
  std::printf("  p50 %.2f us   p99 %.2f us   p99.9 %.2f us   max %.1f us   (goal: p99 < 5 us)\n", p50, p99, p999, max);
  std::printf("  cache hit ratio %.4f (%llu of %llu)\n", static_cast<double>(hits) / static_cast<double>(lookups),
              static_cast<unsigned long long>(hits), static_cast<unsigned long long>(lookups));
  std::printf("  a cache miss (the rules of the name's prefixes checked): p50 %.1f us   p99 %.1f us\n", percentile(miss, 0.5),
              percentile(miss, 0.99));
  return 0;
}
