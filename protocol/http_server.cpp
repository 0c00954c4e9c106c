// The legacy sessions' methods and the server's lifecycle: start, accept, stop, end a session.
#include "protocol/detail/http_server.hpp"

#include <nlohmann/json.hpp>

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
    if (ec)
      return; // closed on stop
    sock.set_option(tcp::no_delay(true), ec);
    serve_connection(std::move(sock), self);
    self->accept();
  });
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
