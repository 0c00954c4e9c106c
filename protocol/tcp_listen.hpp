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

} // namespace cafmcp::protocol
