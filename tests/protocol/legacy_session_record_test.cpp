// A legacy session's record in the session manager: its format pinned.
#include <doctest/doctest.h>

#include "protocol/legacy_session_record.hpp"

using namespace cafmcp::protocol;
using nlohmann::json;

namespace {

// A record as nodes before the typed record wrote it (protocol/endpoint.cpp).
const char* old_record = R"({"capabilities":{"sampling":{}},"clientInfo":{"name":"c","version":"1"},)"
                         R"("kind":"legacy_session","logLevel":"debug","protocolVersion":"2025-06-18",)"
                         R"("subscriptions":["notes://a","notes://b"]})";

legacy_session sample() {
  legacy_session s;
  s.id = "s1";
  s.protocol_version = "2025-06-18";
  s.client_info = json{{"name", "c"}, {"version", "1"}};
  s.client_capabilities = json{{"sampling", json::object()}};
  s.log_level = "debug";
  s.subscriptions = {"notes://a", "notes://b"};
  return s;
}

} // namespace

TEST_CASE("a legacy session record survives a round trip through JSON") {
  auto s = sample();
  auto back = legacy_session::from_info("s1", s.to_json().dump());
  REQUIRE(back);
  CHECK(back->id == "s1");
  CHECK(back->protocol_version == s.protocol_version);
  CHECK(back->client_info == s.client_info);
  CHECK(back->client_capabilities == s.client_capabilities);
  CHECK(back->log_level == "debug");
  CHECK(back->subscriptions == s.subscriptions);
  CHECK(back->initialized); // a client that comes back has finished its handshake
}

TEST_CASE("a legacy session record is written with the field names records on disk already have") {
  CHECK(sample().to_json().dump() == old_record);
}

TEST_CASE("a legacy session record written before the typed record still parses") {
  auto s = legacy_session::from_info("s9", old_record);
  REQUIRE(s);
  CHECK(s->id == "s9");
  CHECK(s->protocol_version == "2025-06-18");
  CHECK(s->log_level == "debug");
  CHECK(s->subscriptions == std::set<std::string>{"notes://a", "notes://b"});
}

TEST_CASE("a legacy session record needs only its kind and protocol version") {
  auto s = legacy_session::from_info("s2", R"({"kind":"legacy_session","protocolVersion":"2024-11-05"})");
  REQUIRE(s);
  CHECK(s->client_info == json::object());
  CHECK(s->client_capabilities == json::object());
  CHECK(s->log_level.empty());
  CHECK(s->subscriptions.empty());
}

TEST_CASE("a record that is not a legacy session is rejected") {
  CHECK_FALSE(legacy_session::from_info("s", ""));   // a state handle's record
  CHECK_FALSE(legacy_session::from_info("s", "{x")); // not JSON
  CHECK_FALSE(legacy_session::from_info("s", R"({"kind":"task","protocolVersion":"2025-06-18"})"));
  CHECK_FALSE(legacy_session::from_info("s", R"({"protocolVersion":"2025-06-18"})"));
  CHECK_FALSE(legacy_session::from_info("s", R"({"kind":"legacy_session"})"));
  CHECK_FALSE(legacy_session::from_info("s", R"({"kind":"legacy_session","protocolVersion":5})"));
}

TEST_CASE("a legacy session record skips subscriptions that are not strings") {
  auto s = legacy_session::from_info(
    "s", R"({"kind":"legacy_session","protocolVersion":"2025-06-18","subscriptions":["notes://a",3,null]})");
  REQUIRE(s);
  CHECK(s->subscriptions == std::set<std::string>{"notes://a"});
}

TEST_CASE("a legacy session keeps the subject that started it across nodes - none is written without authorisation") {
  auto s = sample();
  s.subject = "ann";
  auto back = legacy_session::from_info("s1", s.to_json().dump());
  REQUIRE(back);
  CHECK(back->subject == "ann");
  CHECK(sample().to_json().contains("subject") == false);
  CHECK(legacy_session::from_info("s9", old_record)->subject.empty());
}

TEST_CASE("a legacy session keeps the tenant that started it across nodes - none is written without one") {
  auto s = sample();
  s.tenant = "acme";
  auto back = legacy_session::from_info("s1", s.to_json().dump());
  REQUIRE(back);
  CHECK(back->tenant == "acme");
  CHECK(sample().to_json().contains("tenant") == false);
  CHECK(legacy_session::from_info("s9", old_record)->tenant.empty());
}
