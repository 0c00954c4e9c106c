#pragma once

// The observability tier's HTTP server (Boost.Beast, one I/O thread of its
// own, GET only): /metrics, /health, /ready and the dashboard are served
// from it, never from the MCP port, so a scraper hammering it cannot slow
// MCP clients. No CAF here: the handler hands each request on.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace cafmcp::observability {

struct web_reply {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  /// Set: the response is a text/event-stream that stays open; `body` is
  /// its first chunk, and the server calls `next` about once a second for
  /// the next one ("" ends the stream).
  std::function<std::string()> next;
};

/// Answers one request; `reply` may be called from any thread, once.
using web_handler = std::function<void(const std::string& target, std::function<void(web_reply)> reply)>;

/// Who may ask what, and how long a client may take.
struct web_server_options {
  /// Non-empty: /metrics, /events and the dashboard need `Authorization:
  /// Bearer <token>` (or `?token=<token>`, for a browser); the probes
  /// /health, /ready and /live stay open.
  std::string token;
  std::chrono::milliseconds request_timeout{10000}; // a request, from its first byte
  std::chrono::milliseconds idle_timeout{60000};    // a kept-alive connection between requests
  size_t max_connections = 64;
  size_t max_connections_per_client = 16;
};

/// Whether `target` may be served to a request carrying `authorization`
/// (its Authorization header) under `token` ("" : no token needed).
bool web_authorized(const std::string& target, const std::string& authorization, const std::string& token);

class web_server;

/// Binds host:port (0: any free port) and serves; throws std::runtime_error
/// naming the address when it cannot listen.
std::shared_ptr<web_server> start_web_server(const std::string& host, uint16_t port, web_handler handler,
                                             web_server_options options = {});
uint16_t bound_port(const web_server& srv);
/// Stops accepting, closes the connections, joins the I/O thread.
void stop_web_server(web_server& srv);

} // namespace cafmcp::observability
