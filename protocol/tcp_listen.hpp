#pragma once

// Opens, binds (SO_REUSEADDR) and listens an Asio acceptor on host:port, the
// same way for every HTTP server of a node (MCP, observability).

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>

#include <boost/asio/ip/tcp.hpp>

namespace cafmcp::protocol {

/// Throws std::runtime_error: "<what>: invalid host …" or "<what>: cannot
/// listen on host:port: reason".
inline void listen_on(boost::asio::ip::tcp::acceptor& acceptor, const std::string& host, uint16_t port,
                      const std::string& what) {
  namespace net = boost::asio;
  boost::system::error_code ec;
  auto addr = net::ip::make_address(host, ec);
  if (ec)
    throw std::runtime_error(what + ": invalid host " + host + ": " + ec.message());
  net::ip::tcp::endpoint ep{addr, port};
  acceptor.open(ep.protocol(), ec);
  if (!ec)
    acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec)
    acceptor.bind(ep, ec);
  if (!ec)
    acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error(what + ": cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message());
}

/// How long an HTTP server waits before it accepts again after the
/// `failures`-th accept error in a row (out of file descriptors: waiting
/// lets connections end): 10 ms, doubling, at most 1 s.
inline std::chrono::milliseconds accept_retry_delay(unsigned failures) {
  auto shift = std::min(failures == 0 ? 0u : failures - 1, 7u);
  return std::min(std::chrono::milliseconds{10} * (1u << shift), std::chrono::milliseconds{1000});
}

/// A server's run of accept errors: an error pauses accepting for
/// accept_retry_delay, never stops it until a restart (the connection waits
/// in the backlog meanwhile). The same for every HTTP server of a node.
class accept_backoff {
public:
  /// An accept failed with `error`: accepts again after the delay, by
  /// calling `retry` from `timer` (unless the wait is cancelled: a stop).
  /// `warn` is the line to log: the run's first failure and every 100th
  /// (empty for the others).
  template <class Timer, class Retry>
  void failed(const std::string& error, Timer& timer, Retry retry, std::string& warn) {
    auto delay = accept_retry_delay(++failures_);
    warn.clear();
    if (failures_ == 1 || failures_ % 100 == 0)
      warn = "cannot accept connections: " + error + " (" + std::to_string(failures_) + " in a row); retrying in "
             + std::to_string(delay.count()) + " ms";
    timer.expires_after(delay);
    timer.async_wait([retry](const boost::system::error_code& ec) {
      if (!ec)
        retry();
    });
  }

  /// An accept worked: the line that ends a run of failures ("" if none).
  std::string succeeded() {
    if (failures_ == 0)
      return {};
    auto line = "accepting connections again after " + std::to_string(failures_) + " failures";
    failures_ = 0;
    return line;
  }

private:
  unsigned failures_ = 0;
};

} // namespace cafmcp::protocol
