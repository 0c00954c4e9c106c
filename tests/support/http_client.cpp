#include "tests/support/http_client.hpp"

#include <cerrno>

#include <cstring>
#include <sstream>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace cafmcp::test {

namespace {

std::string lower(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string dechunk(const std::string& in) {
  std::string out;
  size_t pos = 0;
  while (pos < in.size()) {
    auto eol = in.find("\r\n", pos);
    if (eol == std::string::npos)
      break;
    auto size = std::stoul(in.substr(pos, eol - pos), nullptr, 16);
    if (size == 0)
      break;
    out += in.substr(eol + 2, size);
    pos = eol + 2 + size + 2;
  }
  return out;
}

} // namespace

http_reply http_request(uint16_t port, const std::string& method, const std::string& path,
                        const std::vector<std::pair<std::string, std::string>>& headers,
                        const std::string& body, std::chrono::milliseconds timeout) {
  http_reply reply;
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return reply;
  timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return reply;
  }
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  for (auto& [k, v] : headers)
    req += k + ": " + v + "\r\n";
  if (!body.empty() || method == "POST")
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;
  size_t sent = 0;
  while (sent < req.size()) {
    auto n = ::send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n <= 0)
      break; // the server may answer (413) before reading everything
    sent += static_cast<size_t>(n);
  }
  std::string raw;
  char buf[65536];
  for (;;) {
    auto n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0)
      break; // closed, or the bounded wait ran out
    raw.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  auto head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos)
    return reply;
  std::istringstream head{raw.substr(0, head_end)};
  std::string line;
  std::getline(head, line);
  if (line.size() > 12)
    reply.status = std::stoi(line.substr(9, 3));
  while (std::getline(head, line)) {
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    auto colon = line.find(':');
    if (colon == std::string::npos)
      continue;
    auto value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    reply.headers[lower(line.substr(0, colon))] = value;
  }
  auto payload = raw.substr(head_end + 4);
  if (lower(reply.headers["transfer-encoding"]) == "chunked")
    payload = dechunk(payload);
  reply.body = payload;
  return reply;
}

std::string request_text(const std::string& method, const std::string& path,
                         const std::vector<std::pair<std::string, std::string>>& headers, const std::string& body) {
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (auto& [k, v] : headers)
    req += k + ": " + v + "\r\n";
  if (!body.empty() || method == "POST")
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  return req + "\r\n" + body;
}

http_stream::http_stream(uint16_t port, const std::string& method, const std::string& path,
                         const std::vector<std::pair<std::string, std::string>>& headers, const std::string& body)
  : http_stream(port, request_text(method, path, headers, body)) {}

http_stream::http_stream(uint16_t port, const std::string& raw, int receive_buffer) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0)
    return;
  if (receive_buffer > 0)
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof(receive_buffer));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close();
    return;
  }
  if (!raw.empty())
    send(raw);
}

bool http_stream::send(const std::string& raw) {
  if (fd_ < 0)
    return false;
  if (::send(fd_, raw.data(), raw.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(raw.size())) {
    close();
    return false;
  }
  return true;
}

http_stream::~http_stream() {
  close();
}

void http_stream::close() {
  if (fd_ >= 0)
    ::close(fd_);
  fd_ = -1;
}

bool http_stream::read_some(std::chrono::milliseconds timeout) {
  if (fd_ < 0 || eof_)
    return false;
  timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  char buf[65536];
  auto n = ::recv(fd_, buf, sizeof(buf), 0);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
    eof_ = true; // closed, or reset by the server
  if (n <= 0)
    return false;
  raw_.append(buf, static_cast<size_t>(n));
  return true;
}

bool http_stream::wait_for(const std::string& needle, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (raw_.find(needle) == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || eof_ || fd_ < 0)
      return false;
    read_some(std::max(left, std::chrono::milliseconds{1}));
  }
  return true;
}

bool http_stream::arrived(const std::string& needle) {
  char buf[65536];
  while (fd_ >= 0 && !eof_) {
    auto n = ::recv(fd_, buf, sizeof(buf), MSG_DONTWAIT);
    if (n == 0)
      eof_ = true;
    if (n <= 0)
      break;
    raw_.append(buf, static_cast<size_t>(n));
  }
  return raw_.find(needle) != std::string::npos;
}

bool http_stream::wait_closed(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!eof_) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || fd_ < 0)
      return false;
    read_some(std::max(left, std::chrono::milliseconds{1}));
  }
  return true;
}

std::vector<std::string> sse_data(const std::string& body) {
  std::vector<std::string> out;
  std::istringstream in{body};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("data: ", 0) == 0)
      out.push_back(line.substr(6));
  return out;
}

} // namespace cafmcp::test
