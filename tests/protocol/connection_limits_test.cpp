// The HTTP servers' connection limits: in all and per client address.

#include <doctest/doctest.h>

#include "protocol/connection_limits.hpp"

using namespace cafmcp::protocol;

TEST_CASE("one client address cannot take every connection slot - others are still admitted") {
  connection_limits limits{10, 3};
  for (int i = 0; i < 3; ++i)
    CHECK_FALSE(limits.admit("10.0.0.1").has_value());
  auto refused = limits.admit("10.0.0.1");
  REQUIRE(refused.has_value());
  CHECK(*refused == connection_limits::refusal::client_limit);
  CHECK(std::string{to_string(*refused)} == "client_limit");
  CHECK_FALSE(limits.admit("10.0.0.2").has_value());
  CHECK(limits.open() == 4);
  CHECK(limits.open_from("10.0.0.1") == 3);
  // One of its connections ends: that client gets a slot again.
  limits.release("10.0.0.1");
  CHECK_FALSE(limits.admit("10.0.0.1").has_value());
}

TEST_CASE("the node's connection limit refuses every client once reached, and frees with each release") {
  connection_limits limits{2, 5};
  CHECK_FALSE(limits.admit("a").has_value());
  CHECK_FALSE(limits.admit("b").has_value());
  auto refused = limits.admit("c");
  REQUIRE(refused.has_value());
  CHECK(*refused == connection_limits::refusal::node_limit);
  CHECK(limits.open_from("c") == 0); // a refused client holds nothing
  limits.release("a");
  CHECK(limits.open() == 1);
  CHECK_FALSE(limits.admit("c").has_value());
  // Releasing a client never admitted changes nothing.
  limits.release("nobody");
  CHECK(limits.open() == 2);
}

TEST_CASE("a stream's backlog past its limit says the reader is too slow - written bytes make room again") {
  write_backlog backlog{4096};
  CHECK(backlog.add(4000));
  CHECK_FALSE(backlog.add(200)); // 4,200 waiting: past the limit
  backlog.written(4000);
  CHECK(backlog.bytes() == 200);
  CHECK(backlog.add(3896)); // exactly the limit still fits
  CHECK_FALSE(backlog.add(1));
  backlog.written(1000000); // never below zero
  CHECK(backlog.bytes() == 0);
}
