#include "tests/support/net.hpp"

#include <random>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace cafmcp::test {

namespace {

/// Binds 127.0.0.1:port (0: any); returns the bound port or 0.
uint16_t try_bind(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  uint16_t out = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0) {
    socklen_t len = sizeof(a);
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
      out = ntohs(a.sin_port);
  }
  ::close(fd);
  return out;
}

} // namespace

uint16_t free_port() {
  return try_bind(0);
}

int free_port_range(int count) {
  std::mt19937 rng{std::random_device{}()};
  std::uniform_int_distribution<int> pick{20000, 30000}; // below the kernel's ephemeral range
  for (int attempt = 0; attempt < 200; ++attempt) {
    int base = pick(rng);
    bool ok = true;
    for (int i = 0; i < count && ok; ++i)
      ok = try_bind(static_cast<uint16_t>(base + i)) != 0;
    if (ok)
      return base;
  }
  return 0;
}

} // namespace cafmcp::test
