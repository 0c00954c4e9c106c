#include "tests/support/otlp_receiver.hpp"

#include <cstring>
#include <functional>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace cafmcp::test {

using nlohmann::json;

std::string received_span::attribute(const std::string& key) const {
  for (auto& a : span.value("attributes", json::array()))
    if (a.value("key", "") == key) {
      auto& v = a["value"];
      if (v.contains("stringValue"))
        return v["stringValue"].get<std::string>();
      if (v.contains("intValue"))
        return v["intValue"].is_string() ? v["intValue"].get<std::string>() : v["intValue"].dump();
    }
  return {};
}

otlp_receiver::otlp_receiver() {
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

otlp_receiver::~otlp_receiver() {
  stop_ = true;
  thread_.join();
  ::close(listen_fd_);
}

std::vector<received_span> otlp_receiver::spans() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return spans_;
}

std::vector<received_span> otlp_receiver::wait_trace(
  const std::string& id, const std::function<bool(const std::vector<received_span>&)>& pred,
  std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  std::vector<received_span> out;
  do {
    out.clear();
    for (auto& s : spans())
      if (s.span.value("traceId", "") == id)
        out.push_back(s);
    if (pred(out))
      return out;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  } while (std::chrono::steady_clock::now() < deadline);
  return out;
}

namespace {

/// Reads one HTTP request's body (Content-Length framing), bounded in time.
std::string read_body(int fd) {
  std::string data;
  char buf[65536];
  size_t need = std::string::npos;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    auto head_end = data.find("\r\n\r\n");
    if (head_end != std::string::npos && need == std::string::npos) {
      auto head = data.substr(0, head_end);
      for (auto& c : head)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      auto cl = head.find("content-length:");
      need = head_end + 4 + (cl == std::string::npos ? 0 : std::stoul(head.substr(cl + 15)));
    }
    if (need != std::string::npos && data.size() >= need)
      return data.substr(data.find("\r\n\r\n") + 4);
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0)
      continue;
    auto n = ::read(fd, buf, sizeof(buf));
    if (n <= 0)
      break;
    data.append(buf, static_cast<size_t>(n));
  }
  return {};
}

} // namespace

void otlp_receiver::serve() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0)
      continue;
    int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0)
      continue;
    auto body = read_body(fd);
    const char* reply = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
    [[maybe_unused]] auto w = ::write(fd, reply, std::strlen(reply));
    ::close(fd);
    ++requests_;
    auto j = json::parse(body, nullptr, false);
    if (!j.is_object())
      continue;
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& rs : j.value("resourceSpans", json::array())) {
      std::string node;
      for (auto& a : rs["resource"].value("attributes", json::array()))
        if (a.value("key", "") == "service.instance.id")
          node = a["value"].value("stringValue", "");
      for (auto& ss : rs.value("scopeSpans", json::array()))
        for (auto& s : ss.value("spans", json::array()))
          spans_.push_back(received_span{node, s});
    }
  }
}

} // namespace cafmcp::test
