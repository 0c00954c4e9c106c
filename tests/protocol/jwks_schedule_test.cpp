// When the JWKS URL is fetched, and what waits for a fetch.

#include <doctest/doctest.h>

#include "protocol/jwks_fetcher.hpp"
#include "protocol/jwks_schedule.hpp"
#include "protocol/jwks_store.hpp"

using namespace cafmcp::protocol;
using namespace std::chrono_literals;

namespace {

const auto t0 = jwks_schedule::clock::time_point{} + 1000h;

std::vector<jwk> one_key(const std::string& kid) {
  return {jwk{kid, "RS256", "-----BEGIN PUBLIC KEY-----"}};
}

} // namespace

TEST_CASE("the JWKS is fetched at once, then every refresh interval while fetches work") {
  jwks_schedule s{600s, 30s};
  CHECK(s.due(t0));
  s.fetched(t0, true);
  CHECK_FALSE(s.due(t0 + 599s));
  CHECK(s.due(t0 + 600s));
  s.fetched(t0 + 600s, true);
  CHECK(s.next_fetch() == t0 + 1200s);
}

TEST_CASE("a failed JWKS fetch is retried after the least interval, doubling up to the refresh interval") {
  jwks_schedule s{100s, 30s};
  s.fetched(t0, false);
  CHECK(s.next_fetch() == t0 + 30s);
  s.fetched(t0 + 30s, false);
  CHECK(s.next_fetch() == t0 + 90s);
  s.fetched(t0 + 90s, false);
  CHECK(s.next_fetch() == t0 + 190s); // capped at the refresh interval
  s.fetched(t0 + 190s, true);
  s.fetched(t0 + 290s, false); // a success resets the backoff
  CHECK(s.next_fetch() == t0 + 320s);
}

TEST_CASE("an unknown key id fetches early, at most once per least interval") {
  jwks_schedule s{600s, 30s};
  s.fetched(t0, true);
  CHECK(s.ask_early(t0 + 5s));
  CHECK(s.due(t0 + 5s));
  s.fetched(t0 + 5s, true);
  CHECK_FALSE(s.ask_early(t0 + 10s)); // made-up kids cannot make the node hammer its provider
  CHECK_FALSE(s.due(t0 + 10s));
  CHECK_FALSE(s.ask_early(t0 + 34s));
  CHECK(s.ask_early(t0 + 35s));
}

TEST_CASE("requests waiting for an early JWKS fetch run when it ends, and join one under way") {
  jwks_store store{"https://id.example.com/jwks", "", 600s, 600s};
  int woken = 0;
  store.on_wake([&] { ++woken; });
  CHECK(store.keys() == nullptr);
  int ran = 0;
  // Before the first fetch: the first token waits for it, waking the fetcher.
  CHECK(store.await_fetch([&] { ++ran; }));
  CHECK(woken == 1);
  REQUIRE(store.begin_fetch(jwks_store::clock::now()));
  CHECK_FALSE(store.begin_fetch(jwks_store::clock::now())); // one fetch at a time
  CHECK(store.await_fetch([&] { ++ran; })); // joins the fetch under way, no second wake
  CHECK(woken == 1);
  store.end_fetch(jwks_store::clock::now(), one_key("a"), "");
  CHECK(ran == 2);
  REQUIRE(store.keys() != nullptr);
  CHECK(store.keys()->at(0).kid == "a");
  // An early fetch was just made: the next unknown kid does not wait.
  CHECK_FALSE(store.await_fetch([&] { ++ran; }));
  CHECK(ran == 2);
}

TEST_CASE("a failed JWKS fetch keeps the last key set and says why") {
  jwks_store store{"https://id.example.com/jwks", "", 600s, 30s};
  REQUIRE(store.begin_fetch(jwks_store::clock::now()));
  store.end_fetch(jwks_store::clock::now(), one_key("a"), "");
  store.end_fetch(jwks_store::clock::now(), std::nullopt, "HTTP 503");
  REQUIRE(store.keys() != nullptr);
  CHECK(store.keys()->at(0).kid == "a");
  CHECK(store.last_error() == "HTTP 503");
}

TEST_CASE("a JWKS URL is https, or http to a loopback host only") {
  CHECK(check_jwks_url("https://id.example.com/.well-known/jwks.json").empty());
  CHECK(check_jwks_url("http://127.0.0.1:8443/jwks").empty());
  CHECK(check_jwks_url("http://localhost/jwks").empty());
  CHECK(check_jwks_url("http://[::1]:9000/jwks").empty());
  CHECK_FALSE(check_jwks_url("http://id.example.com/jwks").empty());
  CHECK_FALSE(check_jwks_url("http://127.0.0.1.evil.example/jwks").empty()); // a name, not a loopback address
  CHECK_FALSE(check_jwks_url("http://10.0.0.1/jwks").empty());
  CHECK_FALSE(check_jwks_url("file:///etc/jwks.json").empty());
  CHECK_FALSE(check_jwks_url("https://").empty());
}
