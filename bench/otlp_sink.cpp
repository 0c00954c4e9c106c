// An OTLP/HTTP sink for benchmarks: accepts POSTs on a free 127.0.0.1 port
// (printed on stdout), answers 200 {} and discards the bodies, so that what
// a benchmark measures is the node's cost of tracing, not a collector's.
// Stops on SIGTERM/SIGINT; prints the requests and bytes it took to stderr.

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

std::atomic<bool> stop{false};

void on_signal(int) {
  stop = true;
}

/// Reads one request (Content-Length framing) and discards it; its size, or 0.
size_t drain(int fd) {
  std::string head;
  char buf[65536];
  size_t body = 0, need = std::string::npos, total = 0;
  for (int polls = 0; polls < 50 && !stop; ++polls) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0)
      continue;
    auto n = ::read(fd, buf, sizeof(buf));
    if (n <= 0)
      return 0;
    total += static_cast<size_t>(n);
    if (need == std::string::npos) {
      head.append(buf, static_cast<size_t>(n));
      auto end = head.find("\r\n\r\n");
      if (end == std::string::npos)
        continue;
      for (auto& c : head)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      auto cl = head.find("content-length:");
      need = cl == std::string::npos ? 0 : std::stoul(head.substr(cl + 15));
      body = head.size() - end - 4;
    } else {
      body += static_cast<size_t>(n);
    }
    if (body >= need)
      return total;
  }
  return 0;
}

} // namespace

int main() {
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || ::listen(fd, 64) != 0) {
    std::perror("otlp_sink");
    return 1;
  }
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  std::printf("%d\n", ntohs(a.sin_port));
  std::fflush(stdout);
  size_t requests = 0, bytes = 0;
  const char* reply = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
  while (!stop) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0)
      continue;
    int c = ::accept(fd, nullptr, nullptr);
    if (c < 0)
      continue;
    if (auto n = drain(c)) {
      ++requests;
      bytes += n;
      [[maybe_unused]] auto w = ::write(c, reply, std::strlen(reply));
    }
    ::close(c);
  }
  std::fprintf(stderr, "otlp_sink: %zu requests, %zu bytes\n", requests, bytes);
  return 0;
}
