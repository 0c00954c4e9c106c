// The legacy sessions' methods and the server's lifecycle: start, accept, stop, end a session.
#include "protocol/detail/http_server.hpp"

#include <nlohmann/json.hpp>

#include "base/log.hpp"

namespace cafmcp::protocol {

using nlohmann::json;

void http_session::serve(const json& body, const sink_ptr& out) {
  std::function<void(const json&, const sink_ptr&)> route;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    route = route_;
  }
  if (route)
    route(body, out);
  else
    ep->handle_value(body, out);
}

void http_session::set_actor(std::function<void(const json&, const sink_ptr&)> route,
                             std::function<void()> stop) {
  std::lock_guard<std::mutex> guard{mtx_};
  route_ = std::move(route);
  stop_ = std::move(stop);
}

void http_session::push(const json& msg) {
  std::lock_guard<std::mutex> guard{mtx_};
  // One stream gets each message; streams whose connection is gone go.
  while (!streams_.empty()) {
    if (streams_.front().send(msg))
      return;
    streams_.erase(streams_.begin());
  }
}

void http_session::stop() {
  std::function<void()> stop;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stop = std::move(stop_);
    route_ = nullptr;
  }
  if (stop)
    stop();
}

void http_server::end_streams(const std::shared_ptr<http_session>& s, const std::shared_ptr<void>& done) {
  std::vector<http_session::stream> streams;
  {
    std::lock_guard<std::mutex> guard{s->mtx_};
    streams.swap(s->streams_);
  }
  for (auto& st : streams)
    st.close(done);
}

void http_server::accept() {
  acceptor_.async_accept(net::make_strand(io_), [self = shared_from_this()](beast::error_code ec, tcp::socket sock) {
    if (ec == net::error::operation_aborted || self->stopped_)
      return; // closed on stop
    if (ec) {
      // Out of file descriptors (EMFILE, ENFILE) or another accept error:
      // the connection waits in the backlog; accepting stops only for a
      // moment, not until a restart.
      self->count("cafmcp_http_accept_errors_total", "accept() failures on the MCP port (EMFILE, ENFILE …)",
                  {{"error", ec.message()}});
      std::string warn;
      self->backoff_.failed(ec.message(), self->accept_timer_, [self] {
        if (!self->stopped_)
          self->accept();
      }, warn);
      if (!warn.empty())
        log::warning("/root/protocol_sup/transport_sup/http", warn);
      return;
    }
    if (auto line = self->backoff_.succeeded(); !line.empty())
      log::info("/root/protocol_sup/transport_sup/http", line);
    sock.set_option(tcp::no_delay(true), ec);
    if (auto sndbuf = self->cfg_.socket_send_buffer)
      sock.set_option(net::socket_base::send_buffer_size(static_cast<int>(sndbuf)), ec);
    auto client = sock.remote_endpoint(ec).address().to_string();
    std::optional<connection_limits::refusal> why;
    size_t open = 0;
    {
      std::lock_guard<std::mutex> guard{self->limits_mtx_};
      why = self->limits_.admit(client);
      open = self->limits_.open();
    }
    if (why)
      self->refuse(std::move(sock), client, *why);
    else {
      self->set_open_gauge(open);
      serve_connection(std::move(sock), self, std::move(client));
    }
    self->accept();
  });
}

void http_server::refuse(tcp::socket sock, const std::string& client, connection_limits::refusal why) {
  count("cafmcp_http_connections_refused_total", "connections refused past http.max_connections(_per_client)",
        {{"reason", to_string(why)}});
  auto text = std::make_shared<std::string>();
  auto body = why == connection_limits::refusal::node_limit
                ? "this node holds http.max_connections (" + std::to_string(cfg_.max_connections)
                    + ") connections; retry\n"
                : "too many connections from " + client + " (http.max_connections_per_client "
                    + std::to_string(cfg_.max_connections_per_client) + "); retry\n";
  *text = "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: text/plain\r\n"
          "Connection: close\r\nContent-Length: "
          + std::to_string(body.size()) + "\r\n\r\n" + body;
  auto s = std::make_shared<tcp::socket>(std::move(sock));
  net::async_write(*s, net::buffer(*text), [s, text](beast::error_code, size_t) {
    beast::error_code ec;
    s->shutdown(tcp::socket::shutdown_both, ec);
    s->close(ec);
  });
}

void http_server::release(const std::string& client) {
  size_t open = 0;
  {
    std::lock_guard<std::mutex> guard{limits_mtx_};
    limits_.release(client);
    open = limits_.open();
  }
  set_open_gauge(open);
}

void http_server::set_open_gauge(size_t open) {
  if (cfg_.metrics)
    cfg_.metrics->gauge("cafmcp_http_connections", "open connections on the MCP port").set(static_cast<double>(open));
}

void http_server::count(const std::string& name, const std::string& help, const metrics::metric_labels& labels) {
  if (cfg_.metrics)
    cfg_.metrics->counter(name, help, labels).inc();
}

std::shared_ptr<http_server> start_http_server(const http_config& cfg, endpoint_env env,
                                               session_started_fn on_session) {
  auto srv = std::make_shared<http_server>(cfg, std::move(env), std::move(on_session));
  srv->start();
  return srv;
}

uint16_t bound_port(const http_server& srv) {
  return srv.port();
}

void stop_http_server(http_server& srv) {
  srv.stop();
}

void end_http_session(http_server& srv, const std::string& id) {
  srv.end_session(id);
}

size_t http_session_count(http_server& srv) {
  return srv.session_count();
}

} // namespace cafmcp::protocol
