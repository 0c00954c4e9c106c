// protocol/tenant_policy: each tenant's view of the catalog and its rate limit.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "protocol/tenant_policy.hpp"

using namespace cafmcp::protocol;
using namespace std::chrono_literals;

TEST_CASE("a tenant sees the tools its globs allow, minus those denied, and others see everything") {
  tenant_config acme;
  acme.tools = {"everything.*", "echo"};
  acme.deny_tools = {"everything.get-env"};
  tenant_config none;
  none.tools = {};
  tenant_policy p{{{"acme", acme}, {"locked", none}}};
  CHECK(p.sees("acme", "everything.echo"));
  CHECK(p.sees("acme", "echo"));
  CHECK_FALSE(p.sees("acme", "everything.get-env"));
  CHECK_FALSE(p.sees("acme", "add"));
  CHECK_FALSE(p.sees("acme", "everythingelse.echo"));
  CHECK_FALSE(p.sees("locked", "echo"));
  CHECK(p.sees("unnamed", "add"));
  CHECK(p.sees("", "add"));
  CHECK(p.restricts("acme"));
  CHECK_FALSE(p.restricts(""));
}

TEST_CASE("a tenant's rate limit counts all its requests together and no one else's") {
  tenant_config slow;
  slow.rate = cafmcp::actors::bucket_config{2, 1};
  tenant_policy p{{{"slow", slow}, {"free", tenant_config{}}}};
  auto t0 = std::chrono::steady_clock::now();
  CHECK(p.take("slow", t0) == 0);
  CHECK(p.take("slow", t0) == 0);
  auto wait = p.take("slow", t0);
  CHECK(wait == 1000);
  CHECK(p.take("slow", t0 + 1s) == 0); // refilled one
  for (int i = 0; i < 100; ++i)
    CHECK(p.take("free", t0) == 0);
  CHECK(p.take("unnamed", t0) == 0);
}

TEST_CASE("tenants from config are checked with the key named") {
  auto entry = [](const char* rate) {
    return nlohmann::json{{"tools", {"*"}}, {"deny_tools", nlohmann::json::array()}, {"rate", rate}};
  };
  auto parsed = parse_tenants(nlohmann::json{{"acme", entry("10/2")}});
  REQUIRE(parsed.count("acme") == 1);
  REQUIRE(parsed["acme"].rate);
  CHECK(parsed["acme"].rate->capacity == 10);
  CHECK(parsed["acme"].rate->refill_per_second == 2);
  CHECK_FALSE(parse_tenants(nlohmann::json{{"b", entry("")}})["b"].rate);
  CHECK_THROWS_WITH_AS(parse_tenants(nlohmann::json{{"acme", entry("fast")}}), doctest::Contains("\"tenants.acme.rate\": "),
                       std::invalid_argument);
}

TEST_CASE("replaced tenants apply from the next request - a tenant whose rate stayed keeps its bucket, a changed rate starts afresh") {
  tenant_config slow;
  slow.rate = cafmcp::actors::bucket_config{1, 0.001};
  tenant_config other = slow;
  tenant_policy p{{{"slow", slow}, {"other", other}}};
  int replaced = 0;
  p.on_replace([&] { ++replaced; });
  auto t0 = std::chrono::steady_clock::now();
  CHECK(p.take("slow", t0) == 0);
  CHECK(p.take("other", t0) == 0);
  CHECK(p.take("slow", t0) > 0);
  CHECK(p.take("other", t0) > 0);

  // "slow" keeps its rate (its empty bucket stays empty); "other" gets a new one; "acme" is new.
  tenant_config faster = other;
  faster.rate = cafmcp::actors::bucket_config{2, 0.001};
  tenant_config acme;
  acme.tools = {"echo"};
  p.replace({{"slow", slow}, {"other", faster}, {"acme", acme}});
  CHECK(replaced == 1);
  CHECK(p.take("slow", t0) > 0);
  CHECK(p.take("other", t0) == 0);
  CHECK(p.take("other", t0) == 0);
  CHECK(p.take("other", t0) > 0);
  CHECK(p.restricts("acme"));
  CHECK_FALSE(p.sees("acme", "add"));
  CHECK(p.sees("acme", "echo"));

  // Removed: no view and no limit any more.
  p.replace({});
  CHECK(replaced == 2);
  CHECK_FALSE(p.restricts("acme"));
  CHECK(p.sees("acme", "add"));
  CHECK(p.take("slow", t0) == 0);
  CHECK(p.take("slow", t0) == 0);
}

TEST_CASE("a tenant's name is printable, without spaces, and not too long") {
  CHECK(valid_tenant_name("acme"));
  CHECK(valid_tenant_name("org:1234@eu"));
  CHECK_FALSE(valid_tenant_name(""));
  CHECK_FALSE(valid_tenant_name("two words"));
  CHECK_FALSE(valid_tenant_name("tab\there"));
  CHECK_FALSE(valid_tenant_name(std::string(129, 'a')));
  CHECK(valid_tenant_name(std::string(128, 'a')));
}
