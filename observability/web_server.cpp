// The observability tier's HTTP server on its own I/O thread.
#include "observability/web_server.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "base/crypto.hpp"
#include "base/log.hpp"
#include "protocol/connection_limits.hpp"
#include "protocol/read_deadline.hpp"
#include "protocol/tcp_listen.hpp"

namespace cafmcp::observability {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

constexpr const char* log_path = "/root/observability_sup/web";

/// The query parameter `name` of `target` ("" when absent).
std::string query_param(const std::string& target, const std::string& name) {
  auto q = target.find('?');
  if (q == std::string::npos)
    return {};
  auto rest = target.substr(q + 1);
  size_t at = 0;
  while (at <= rest.size()) {
    auto end = rest.find('&', at);
    auto pair = rest.substr(at, end == std::string::npos ? std::string::npos : end - at);
    if (pair.rfind(name + "=", 0) == 0)
      return pair.substr(name.size() + 1);
    if (end == std::string::npos)
      break;
    at = end + 1;
  }
  return {};
}

} // namespace

bool web_authorized(const std::string& target, const std::string& authorization, const std::string& token) {
  if (token.empty())
    return true;
  auto path = target.substr(0, target.find('?'));
  // Probes stay open: an orchestrator restarting pods needs no secret.
  if (path == "/health" || path == "/ready" || path == "/live")
    return true;
  const std::string bearer = "Bearer ";
  if (authorization.size() > bearer.size() && authorization.compare(0, bearer.size(), bearer) == 0)
    return crypto::constant_time_equal(authorization.substr(bearer.size()), token);
  auto given = query_param(target, "token");
  return !given.empty() && crypto::constant_time_equal(given, token);
}

class web_connection;

class web_server : public std::enable_shared_from_this<web_server> {
public:
  web_server(web_handler handler, web_server_options options)
    : handler_(std::move(handler)), options_(std::move(options)), acceptor_(io_), accept_timer_(io_),
      guard_(io_.get_executor()), limits_(options_.max_connections, options_.max_connections_per_client) {}

  void listen(const std::string& host, uint16_t port) {
    protocol::listen_on(acceptor_, host, port, "observability");
    port_ = acceptor_.local_endpoint().port();
    accept();
    thread_ = std::thread([this] {
      io_.run();
      ran_out_ = true;
    });
  }

  void stop() {
    if (stopped_.exchange(true))
      return;
    net::post(io_, [this] {
      beast::error_code ec;
      acceptor_.close(ec);
      accept_timer_.cancel();
      close_connections();
    });
    guard_.reset();
    // With every socket closed the I/O thread runs out of work and ends on
    // its own, and the connections let go of the server (and of the
    // handler, which holds the web actor: a kept-alive scraper connection
    // left pending would keep that actor, and the node's exit, waiting).
    for (int i = 0; i < 100 && !ran_out_; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    io_.stop();
    if (thread_.joinable())
      thread_.join();
  }

  uint16_t port() const { return port_; }
  const web_handler& handler() const { return handler_; }
  const web_server_options& options() const { return options_; }

  /// A connection from `client` ended (all on the one I/O thread).
  void release(const std::string& client) { limits_.release(client); }
  /// A connection to close when the server stops (I/O thread).
  void track(const std::shared_ptr<web_connection>& c);
  net::io_context& io() { return io_; }
  bool stopped() const { return stopped_; }

private:
  void accept();
  void close_connections();

  std::vector<std::weak_ptr<web_connection>> connections_;
  std::atomic<bool> ran_out_{false};
  web_handler handler_;
  web_server_options options_;
  net::io_context io_{1};
  tcp::acceptor acceptor_;
  net::steady_timer accept_timer_;
  protocol::accept_backoff backoff_;
  net::executor_work_guard<net::io_context::executor_type> guard_;
  protocol::connection_limits limits_;
  std::thread thread_;
  std::atomic<bool> stopped_{false};
  uint16_t port_ = 0;
};

/// One connection: GET requests one after the other (keep-alive), each
/// answered with a body or kept open as an event stream.
class web_connection : public std::enable_shared_from_this<web_connection> {
public:
  web_connection(tcp::socket sock, std::shared_ptr<web_server> srv, std::string client)
    : sock_(std::move(sock)), srv_(std::move(srv)), client_(std::move(client)) {}
  ~web_connection() { srv_->release(client_); }

  void start() { read(); }

  /// Ends the connection whatever it waits for (the server stops).
  void shut() {
    timer_.cancel();
    close();
  }

private:
  void read() {
    req_ = {};
    parser_.emplace();
    parser_->body_limit(8 * 1024);
    parser_->header_limit(16 * 1024);
    if (buf_.size() > 0)
      return read_request();
    // Between requests, then for the request itself: each under a deadline,
    // so a client that sends slowly or never cannot hold the connection.
    arm(srv_->options().idle_timeout);
    sock_.async_wait(tcp::socket::wait_read, [self = shared_from_this()](beast::error_code ec) {
      if (ec)
        return self->close();
      self->read_request();
    });
  }

  void read_request() {
    arm(srv_->options().request_timeout);
    http::async_read(sock_, buf_, *parser_, [self = shared_from_this()](beast::error_code ec, size_t) {
      self->deadline_.disarm();
      if (ec)
        return self->close();
      self->req_ = self->parser_->release();
      self->handle();
    });
  }

  void arm(std::chrono::milliseconds limit) {
    deadline_.arm(limit, [self = shared_from_this()] { self->close(); });
  }

  void handle() {
    auto authorization = req_.find(http::field::authorization);
    if (!web_authorized(std::string{req_.target()},
                        authorization == req_.end() ? std::string{} : std::string{authorization->value()},
                        srv_->options().token)) {
      web_reply r;
      r.status = 401;
      r.body = "this endpoint needs the bearer token of observability.token_file (Authorization: Bearer …, "
               "or ?token=… in a browser)\n";
      return write(std::move(r));
    }
    if (req_.method() != http::verb::get && req_.method() != http::verb::head) {
      web_reply r;
      r.status = 405;
      r.body = "only GET\n";
      return write(std::move(r));
    }
    // The reply holds the connection until it is answered (always: the
    // handler's side answers 503 when it cannot do better).
    auto exec = sock_.get_executor();
    auto answered = std::make_shared<std::atomic<bool>>(false);
    srv_->handler()(std::string{req_.target()}, [self = shared_from_this(), exec, answered](web_reply r) {
      if (answered->exchange(true))
        return;
      net::post(exec, [self, r = std::move(r)]() mutable { self->write(std::move(r)); });
    });
  }

  void write(web_reply r) {
    if (r.next)
      return stream(std::move(r));
    auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(r.status), req_.version());
    res->set(http::field::content_type, r.content_type);
    if (r.status == 401)
      res->set(http::field::www_authenticate, "Bearer realm=\"cafmcp observability\"");
    res->set(http::field::cache_control, "no-store");
    res->keep_alive(req_.keep_alive());
    res->body() = std::move(r.body);
    res->prepare_payload();
    http::async_write(sock_, *res, [self = shared_from_this(), res](beast::error_code ec, size_t) {
      if (ec || !res->keep_alive())
        return self->close();
      self->read();
    });
  }

  // -- event streams (the dashboard's live updates) --

  void stream(web_reply r) {
    next_ = std::move(r.next);
    std::string head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
                       "Connection: close\r\n\r\n";
    send_raw(std::make_shared<std::string>(head + r.body));
  }

  void send_raw(std::shared_ptr<std::string> data) {
    net::async_write(sock_, net::buffer(*data), [self = shared_from_this(), data](beast::error_code ec, size_t) {
      if (ec)
        return self->close();
      self->timer_.expires_after(std::chrono::seconds(1));
      self->timer_.async_wait([self](beast::error_code ec) {
        if (ec || self->srv_->stopped())
          return self->close();
        auto more = self->next_();
        if (more.empty())
          return self->close();
        self->send_raw(std::make_shared<std::string>(std::move(more)));
      });
    });
  }

  void close() {
    deadline_.disarm();
    beast::error_code ec;
    sock_.shutdown(tcp::socket::shutdown_both, ec);
    sock_.close(ec);
  }

  tcp::socket sock_;
  std::shared_ptr<web_server> srv_;
  beast::flat_buffer buf_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::request<http::string_body> req_;
  std::function<std::string()> next_;
  net::steady_timer timer_{sock_.get_executor()};
  std::string client_;
  protocol::read_deadline deadline_{sock_.get_executor()};
};

void web_server::accept() {
  // One I/O thread: the acceptor, the limits and every connection share it.
  acceptor_.async_accept(io_, [self = shared_from_this()](beast::error_code ec, tcp::socket sock) {
    if (ec == net::error::operation_aborted || self->stopped_)
      return;
    if (ec) { // out of file descriptors, …: try again shortly, never stop accepting
      std::string warn;
      self->backoff_.failed(ec.message(), self->accept_timer_, [self] {
        if (!self->stopped_)
          self->accept();
      }, warn);
      if (!warn.empty())
        log::warning(log_path, warn);
      return;
    }
    if (auto line = self->backoff_.succeeded(); !line.empty())
      log::info(log_path, line);
    auto client = sock.remote_endpoint(ec).address().to_string();
    if (self->limits_.admit(client)) {
      // Past the limits: closed at once (a scraper retries; the dashboard reconnects).
      beast::error_code ignored;
      sock.shutdown(tcp::socket::shutdown_both, ignored);
      sock.close(ignored);
    } else {
      auto conn = std::make_shared<web_connection>(std::move(sock), self, std::move(client));
      self->track(conn);
      conn->start();
    }
    self->accept();
  });
}

void web_server::track(const std::shared_ptr<web_connection>& c) {
  // Forget the ended ones now and then, so the list stays as long as the open ones.
  if (connections_.size() >= 2 * options_.max_connections)
    connections_.erase(std::remove_if(connections_.begin(), connections_.end(),
                                      [](const std::weak_ptr<web_connection>& w) { return w.expired(); }),
                       connections_.end());
  connections_.push_back(c);
}

void web_server::close_connections() {
  for (auto& w : connections_)
    if (auto c = w.lock())
      c->shut();
  connections_.clear();
}

std::shared_ptr<web_server> start_web_server(const std::string& host, uint16_t port, web_handler handler,
                                             web_server_options options) {
  auto srv = std::make_shared<web_server>(std::move(handler), std::move(options));
  srv->listen(host, port);
  return srv;
}

uint16_t bound_port(const web_server& srv) {
  return srv.port();
}

void stop_web_server(web_server& srv) {
  srv.stop();
}

} // namespace cafmcp::observability
