#include "tests/support/stub_http_server.hpp"

#include <cctype>
#include <chrono>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace cafmcp::test {

namespace {

/// Reads one HTTP request (Content-Length framing), bounded in time; false
/// when none arrived whole.
bool read_request(int fd, stub_request& out) {
  std::string data;
  char buf[65536];
  size_t need = std::string::npos;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    auto head_end = data.find("\r\n\r\n");
    if (head_end != std::string::npos && need == std::string::npos) {
      auto head = data.substr(0, head_end);
      auto sp1 = head.find(' ');
      auto sp2 = head.find(' ', sp1 + 1);
      if (sp1 == std::string::npos || sp2 == std::string::npos)
        return false;
      out.method = head.substr(0, sp1);
      out.target = head.substr(sp1 + 1, sp2 - sp1 - 1);
      for (auto& c : head)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      auto cl = head.find("content-length:");
      need = head_end + 4 + (cl == std::string::npos ? 0 : std::stoul(head.substr(cl + 15)));
    }
    if (need != std::string::npos && data.size() >= need) {
      out.body = data.substr(head_end + 4, need - head_end - 4);
      return true;
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0)
      continue;
    auto n = ::read(fd, buf, sizeof(buf));
    if (n <= 0)
      break;
    data.append(buf, static_cast<size_t>(n));
  }
  return false;
}

const char* reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 404: return "Not Found";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

} // namespace

stub_http_server::stub_http_server(handler h) : handler_(std::move(h)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 && ::listen(listen_fd_, 16) == 0) {
    socklen_t len = sizeof(a);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  thread_ = std::thread([this] { serve(); });
}

stub_http_server::~stub_http_server() {
  stop_ = true;
  thread_.join();
  ::close(listen_fd_);
}

void stub_http_server::serve() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0)
      continue;
    int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0)
      continue;
    stub_request req;
    if (read_request(fd, req)) {
      auto res = handler_(req);
      auto reply = "HTTP/1.1 " + std::to_string(res.status) + " " + reason(res.status) + "\r\nContent-Type: "
                   + res.content_type + "\r\nContent-Length: " + std::to_string(res.body.size())
                   + "\r\nConnection: close\r\n\r\n" + res.body;
      for (size_t off = 0; off < reply.size();) {
        auto n = ::write(fd, reply.data() + off, reply.size() - off);
        if (n <= 0)
          break;
        off += static_cast<size_t>(n);
      }
      ++requests_;
    }
    ::close(fd);
  }
}

} // namespace cafmcp::test
