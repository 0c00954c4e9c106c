// The observability tier's HTTP server on its own I/O thread.
#include "observability/web_server.hpp"

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

#include "protocol/tcp_listen.hpp"

namespace cafmcp::observability {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

class web_connection;

class web_server : public std::enable_shared_from_this<web_server> {
public:
  web_server(web_handler handler) : handler_(std::move(handler)), acceptor_(io_), guard_(io_.get_executor()) {}

  void listen(const std::string& host, uint16_t port) {
    protocol::listen_on(acceptor_, host, port, "observability");
    port_ = acceptor_.local_endpoint().port();
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }

  void stop() {
    if (stopped_.exchange(true))
      return;
    net::post(io_, [this] {
      beast::error_code ec;
      acceptor_.close(ec);
    });
    guard_.reset();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    io_.stop();
    if (thread_.joinable())
      thread_.join();
  }

  uint16_t port() const { return port_; }
  const web_handler& handler() const { return handler_; }
  net::io_context& io() { return io_; }
  bool stopped() const { return stopped_; }

private:
  void accept();

  web_handler handler_;
  net::io_context io_{1};
  tcp::acceptor acceptor_;
  net::executor_work_guard<net::io_context::executor_type> guard_;
  std::thread thread_;
  std::atomic<bool> stopped_{false};
  uint16_t port_ = 0;
};

/// One connection: GET requests one after the other (keep-alive), each
/// answered with a body or kept open as an event stream.
class web_connection : public std::enable_shared_from_this<web_connection> {
public:
  web_connection(tcp::socket sock, std::shared_ptr<web_server> srv) : sock_(std::move(sock)), srv_(std::move(srv)) {}

  void start() { read(); }

private:
  void read() {
    req_ = {};
    parser_.emplace();
    parser_->body_limit(8 * 1024);
    http::async_read(sock_, buf_, *parser_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec)
        return self->close();
      self->req_ = self->parser_->release();
      self->handle();
    });
  }

  void handle() {
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
};

void web_server::accept() {
  acceptor_.async_accept(net::make_strand(io_), [self = shared_from_this()](beast::error_code ec, tcp::socket sock) {
    if (ec)
      return;
    std::make_shared<web_connection>(std::move(sock), self)->start();
    self->accept();
  });
}

std::shared_ptr<web_server> start_web_server(const std::string& host, uint16_t port, web_handler handler) {
  auto srv = std::make_shared<web_server>(std::move(handler));
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
