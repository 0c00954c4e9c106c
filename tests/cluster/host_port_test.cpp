// HOST:PORT, as seeds, connect() and `cafmcp status --node` take it.

#include <doctest/doctest.h>

#include "cluster/host_port.hpp"

using cafmcp::cluster::parse_host_port;

TEST_CASE("HOST:PORT parses a host and a port 1 … 65535 and refuses anything else") {
  auto a = parse_host_port("10.0.0.7:4370");
  REQUIRE(a);
  CHECK(a->host == "10.0.0.7");
  CHECK(a->port == 4370);
  CHECK(parse_host_port("[::1]:65535")->host == "[::1]");
  for (auto bad : {"", "host", ":4370", "host:", "host:0", "host:65536", "host:99999", "host:12ab", "host: 80",
                   "host:+80", "host:123456"})
    CHECK_MESSAGE(!parse_host_port(bad), bad);
}
