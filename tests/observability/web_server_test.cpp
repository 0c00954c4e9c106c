// Who may read the observability port when it has a token.

#include <doctest/doctest.h>

#include <memory>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "observability/web_server.hpp"

using cafmcp::observability::web_authorized;

TEST_CASE("with a token, metrics and the dashboard need it in the Authorization header or the query - probes do not") {
  const std::string token = "s3cret";
  CHECK_FALSE(web_authorized("/metrics", "", token));
  CHECK(web_authorized("/metrics", "Bearer s3cret", token));
  CHECK_FALSE(web_authorized("/metrics", "Bearer s3cre", token));
  CHECK_FALSE(web_authorized("/metrics", "Bearer s3cretX", token));
  CHECK_FALSE(web_authorized("/metrics", "Basic s3cret", token));
  CHECK(web_authorized("/dashboard?token=s3cret", "", token));
  CHECK(web_authorized("/events?x=1&token=s3cret", "", token));
  CHECK_FALSE(web_authorized("/events?token=", "", token));
  CHECK_FALSE(web_authorized("/events?notoken=s3cret", "", token));
  for (auto probe : {"/health", "/ready", "/live", "/health?verbose=1"})
    CHECK(web_authorized(probe, "", token));
  // No token configured: everything is open, as before.
  CHECK(web_authorized("/metrics", "", ""));
}

TEST_CASE("stopping the web server ends a kept-alive connection and lets go of its handler") {
  using namespace cafmcp::observability;
  // The handler holds what the web actor's handler holds in a node: if a
  // kept-alive connection outlived the stop, this would never be released
  // (a node then hung at exit waiting for its web actor).
  auto held = std::make_shared<int>(1);
  std::weak_ptr<int> watch = held;
  auto srv = start_web_server("127.0.0.1", 0,
                              [held](const std::string&, std::function<void(web_reply)> reply) {
                                web_reply r;
                                r.body = "ok\n";
                                reply(std::move(r));
                              });
  held.reset();
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(bound_port(*srv));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  std::string req = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n";
  REQUIRE(::send(fd, req.data(), req.size(), 0) == static_cast<ssize_t>(req.size()));
  std::string got;
  char buf[1024];
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  while (got.find("ok\n") == std::string::npos) {
    auto n = ::recv(fd, buf, sizeof buf, 0);
    REQUIRE(n > 0);
    got.append(buf, static_cast<size_t>(n));
  }
  CHECK(got.rfind("HTTP/1.1 200", 0) == 0);
  stop_web_server(*srv);
  srv.reset();
  CHECK(watch.expired());
  // And the client sees its connection closed.
  CHECK(::recv(fd, buf, sizeof buf, 0) == 0);
  ::close(fd);
}
