#pragma once

// The Streamable HTTP side of an upstream MCP server: each JSON-RPC message
// upstream_client writes is POSTed to the server's URL (libcurl, on threads
// of the link's own, never an actor's), and every message that comes back —
// a JSON body, or the events of an SSE response as they arrive — is handed
// to the owner as a line, as a stdio server's would be. The session id the
// server gives in its initialize response goes with every later request.
// Once the session is open, a GET holds the server's own stream open (what
// it sends outside any request: list_changed, resource updates, its log
// messages), opened again whenever it ends; a server without one (405) is
// not asked again.
// A server that cannot be reached, or that ends the session (404), ends the
// link (on_exit): the owner starts a new one, with a new session.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/port_program.hpp"

namespace cafmcp::protocol {

struct http_link_options {
  std::string url;
  std::vector<std::string> headers;   // "Name: value", on every request
  std::string protocol_version;       // MCP-Protocol-Version after initialize
  std::chrono::milliseconds timeout{60000}; // one request, start to end
  size_t max_message = 4 * 1024 * 1024;     // one message (a body or an event)
  size_t max_concurrent = 32;               // requests in flight at once
  /// When set, each message that comes back on a request's own response
  /// (its answer, and what the server sent with it: progress, logs, input
  /// requests) goes here with that request's id, instead of to on_line.
  std::function<void(std::string line, int64_t request_id)> on_request_line;
};

class http_link {
public:
  /// Starts the link's dispatcher. Uses on_line, on_overlong and on_exit
  /// of `cbs` (on_exit at most once, with why the link ended).
  http_link(http_link_options opts, port_callbacks cbs);
  /// Aborts the transfers in flight and waits for their threads.
  ~http_link();

  http_link(const http_link&) = delete;
  http_link& operator=(const http_link&) = delete;

  /// Queues one message (any thread, never blocks). Notifications and
  /// responses go out in order, each after the one before was accepted;
  /// requests go out concurrently (a long call does not hold the others).
  void send(std::string message);

  struct state;

private:
  std::shared_ptr<state> st_;
};

/// Why `url` cannot be an upstream ("": it can): http:// or https://.
std::string check_upstream_url(const std::string& url);

} // namespace cafmcp::protocol
