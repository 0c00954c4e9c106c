#pragma once

// A one-thread HTTP/1.1 server on a free 127.0.0.1 port for tests that need
// something to talk to (an OTLP collector, an identity provider's JWKS):
// one request per connection, answered by a handler.

#include <atomic>
#include <functional>
#include <string>
#include <thread>

namespace cafmcp::test {

struct stub_request {
  std::string method;
  std::string target;
  std::string body;
};

struct stub_response {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
};

class stub_http_server {
public:
  using handler = std::function<stub_response(const stub_request&)>;
  explicit stub_http_server(handler h);
  ~stub_http_server();
  stub_http_server(const stub_http_server&) = delete;
  stub_http_server& operator=(const stub_http_server&) = delete;

  uint16_t port() const { return port_; }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  /// Requests answered so far.
  size_t requests() const { return requests_; }

private:
  void serve();
  handler handler_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<size_t> requests_{0};
  std::thread thread_;
};

} // namespace cafmcp::test
