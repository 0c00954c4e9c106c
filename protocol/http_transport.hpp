#pragma once

// MCP over Streamable HTTP (Boost.Beast on its own I/O threads): one
// endpoint path answering POST (JSON or an SSE stream when the call
// streams), GET (legacy session stream) and DELETE (end a legacy session).
//
// - Modern requests (MCP 2026-07-28) are served statelessly; their headers
//   MCP-Protocol-Version, Mcp-Method and Mcp-Name are checked against the
//   body (400 with -32020 on a mismatch), an unknown method is 404.
// - `initialize` starts a legacy session: its id comes back in
//   Mcp-Session-Id; later requests carry it (missing: 400, unknown or
//   ended: 404).
// - Origin is checked (403); bodies over the limit are refused (413)
//   without being buffered whole; malformed JSON is 400 with -32700.

#include <chrono>
#include <functional>
#include <mutex>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "protocol/bearer_auth.hpp"
#include "protocol/endpoint.hpp"
#include "supervision/child_spec.hpp"

namespace cafmcp::protocol {

struct http_config {
  /// The routing rules (null: none): the request headers the current
  /// version looks at are kept for the request's tool calls (docs/ROUTING.md).
  std::shared_ptr<live_routes> routes;
  std::string host = "127.0.0.1";
  uint16_t port = 8080;   // 0: any free port (the bound port is logged)
  std::string path = "/mcp";
  size_t max_message = 4 * 1024 * 1024;
  /// Origins allowed besides http(s)://localhost, 127.0.0.1 and [::1] (any port).
  std::vector<std::string> allowed_origins;
  int threads = 1;
  std::chrono::milliseconds session_ttl{30 * 60 * 1000}; // idle legacy sessions end
  size_t max_sessions = 10000; // open legacy sessions; initialize past it gets 503
  std::chrono::milliseconds keepalive{15000};  // SSE comment on an open stream this often
  // Hardening (docs/SECURITY.md, "The MCP port"): slow or greedy clients
  // are closed and counted, never waited for without bound.
  std::chrono::milliseconds header_timeout{10000}; // a request's headers, from its first byte
  std::chrono::milliseconds body_timeout{30000};   // its body, once the headers are in
  std::chrono::milliseconds idle_timeout{120000};  // a kept-alive connection waiting for its next request
  size_t max_connections = 1024;                   // open at once; past it: 503 and closed
  size_t max_connections_per_client = 256;         // from one client address
  size_t max_stream_queue_bytes = 4 * 1024 * 1024; // SSE bytes waiting for a slow reader; past it: closed
  /// SO_SNDBUF of each connection (0: the kernel's, autotuned up to
  /// net.ipv4.tcp_wmem's maximum, 4 MiB by default): what the kernel holds
  /// for a reader besides max_stream_queue_bytes.
  size_t socket_send_buffer = 0;
  /// Host names allowed besides localhost, 127.0.0.1 and [::1] while bound
  /// to a loopback address (DNS rebinding: other Host headers get 403).
  std::vector<std::string> allowed_hosts;
  /// Bearer authorisation (mcp.auth): off, or every request needs a token.
  auth_config auth;
  /// A request header naming the caller's tenant when its token names none
  /// ("": tenants come from tokens only). A token's own tenant wins; a
  /// header naming another is refused with 403.
  std::string tenant_header;
  /// cafmcp_http_* counters and gauges (none: not counted).
  std::shared_ptr<metrics::metrics_registry> metrics;
};

class http_server;

/// A legacy session served over HTTP. Once its actor (under server_sup)
/// runs, `route` hands it the session's requests; until then (or if it
/// could not start) the transport serves them itself.
struct http_session {
  std::string id;
  std::shared_ptr<endpoint> ep;
  std::chrono::steady_clock::time_point last_used = std::chrono::steady_clock::now();

  /// Serves `body` (in the session's actor once one runs).
  void serve(const nlohmann::json& body, const sink_ptr& out);
  void set_actor(std::function<void(const nlohmann::json&, const sink_ptr&)> route, std::function<void()> stop);
  /// Stops the session's actor, if any.
  void stop();
  /// Sends a server-initiated message on one open GET stream (dropped
  /// when none is open, as Streamable HTTP allows).
  void push(const nlohmann::json& msg);

private:
  friend class http_server;
  friend class connection;
  std::mutex mtx_;
  std::function<void(const nlohmann::json&, const sink_ptr&)> route_;
  std::function<void()> stop_;
  struct stream {
    /// Ends the stream; `done` is held until its last bytes are written
    /// (or the connection is gone), then released.
    std::function<void(std::shared_ptr<void> done)> close;
    std::function<bool(const nlohmann::json&)> send; // false: that stream is gone
  };
  std::vector<stream> streams_; // open GET streams
};

/// Called for each new legacy session (e.g. to start its actor).
using session_started_fn = std::function<void(const std::shared_ptr<http_session>&, const std::weak_ptr<http_server>&)>;

/// Binds and starts serving; throws std::runtime_error naming the address
/// when it cannot bind.
std::shared_ptr<http_server> start_http_server(const http_config& cfg, endpoint_env env,
                                               session_started_fn on_session = {});
/// Ends a legacy session: it answers 404 from now on, its streams close.
void end_http_session(http_server& srv, const std::string& id);
size_t http_session_count(http_server& srv);
uint16_t bound_port(const http_server& srv);
/// Stops accepting, closes every connection and joins the I/O threads.
void stop_http_server(http_server& srv);

/// A start function for transport_sup: a listener actor that owns an HTTP
/// server (bound in the start function, so a port in use is a failed start).
/// Each legacy session becomes an actor under `server_sup()` (a temporary
/// child that ends after `session_ttl` idle; stopping it ends the session).
supervision::start_function http_listener(http_config cfg, endpoint_env env,
                                          std::function<caf::actor()> server_sup);

} // namespace cafmcp::protocol
