#pragma once
// The Streamable HTTP server: its acceptor and I/O threads, and the legacy sessions it holds with their idle sweep.

#include <utility> // Boost 1.74's Asio misses it under C++20

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>

#include "base/metrics.hpp"
#include "protocol/connection_limits.hpp"
#include "protocol/http_transport.hpp"
#include "protocol/tcp_listen.hpp"

namespace cafmcp::protocol {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

class http_server : public std::enable_shared_from_this<http_server> {
public:
  http_server(http_config cfg, endpoint_env env, session_started_fn on_session)
    : cfg_(std::move(cfg)),
      env_(std::move(env)),
      on_session_(std::move(on_session)),
      acceptor_(io_),
      sweep_timer_(io_),
      accept_timer_(io_),
      limits_(cfg_.max_connections, cfg_.max_connections_per_client) {
  }

  void start() {
    listen_on(acceptor_, cfg_.host, cfg_.port, "http");
    port_ = acceptor_.local_endpoint().port();
    accept();
    sweep();
    for (int i = 0; i < std::max(1, cfg_.threads); ++i)
      threads_.emplace_back([this] { io_.run(); });
  }

  void stop() {
    if (stopped_.exchange(true))
      return;
    net::post(io_, [this] {
      beast::error_code ec;
      acceptor_.close(ec);
      sweep_timer_.cancel();
      accept_timer_.cancel();
      std::lock_guard<std::mutex> guard{mtx_};
      for (auto& [id, s] : sessions_)
        s->ep->cancel_all();
      sessions_.clear();
    });
    work_guard_.reset();
    // Give open connections a moment to flush, then stop the loop.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    io_.stop();
    for (auto& t : threads_)
      if (t.joinable())
        t.join();
  }

  uint16_t port() const { return port_; }
  const http_config& config() const { return cfg_; }
  const endpoint_env& env() const { return env_; }

  std::shared_ptr<http_session> find_session(const std::string& id) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = sessions_.find(id);
    if (i == sessions_.end())
      return nullptr;
    i->second->last_used = std::chrono::steady_clock::now();
    return i->second;
  }

  void add_session(const std::string& id, std::shared_ptr<http_session> s) {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      sessions_[id] = s;
    }
    if (on_session_)
      on_session_(s, weak_from_this());
  }

  size_t session_count() {
    std::lock_guard<std::mutex> guard{mtx_};
    return sessions_.size();
  }

  /// Ends a session: removed, its calls cancelled, its streams closed.
  /// `ended` (if any) runs once every stream's last bytes are written, on
  /// whichever thread wrote them last (at once when none was open).
  void end_session(const std::string& id, std::function<void()> ended = {}) {
    std::shared_ptr<void> done;
    if (ended)
      done = std::shared_ptr<void>(nullptr, [ended = std::move(ended)](void*) { ended(); });
    auto s = remove_session(id);
    if (!s)
      return;
    s->ep->cancel_all();
    end_streams(s, done);
    s->stop();
  }

  std::shared_ptr<http_session> remove_session(const std::string& id) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = sessions_.find(id);
    if (i == sessions_.end())
      return nullptr;
    auto s = i->second;
    sessions_.erase(i);
    return s;
  }

  void end_streams(const std::shared_ptr<http_session>& s, const std::shared_ptr<void>& done = nullptr);

  /// An admitted connection from `client` ended.
  void release(const std::string& client);

  /// Adds one to counter `name` (when metrics are kept).
  void count(const std::string& name, const std::string& help, const metrics::metric_labels& labels = {});
  /// A tenant as a metric label: the first 100 distinct tenants, then "other".
  std::string tenant_label(const std::string& tenant) { return tenants_(tenant); }

private:
  void accept();
  /// Answers a connection past the limits with 503 and closes it.
  void refuse(tcp::socket sock, const std::string& client, connection_limits::refusal why);
  void set_open_gauge(size_t open);

  // Idle legacy sessions end after the session TTL.
  void sweep() {
    sweep_timer_.expires_after(std::chrono::seconds(1));
    sweep_timer_.async_wait([this](beast::error_code ec) {
      if (ec)
        return;
      std::vector<std::shared_ptr<http_session>> expired;
      {
        std::lock_guard<std::mutex> guard{mtx_};
        auto now = std::chrono::steady_clock::now();
        for (auto i = sessions_.begin(); i != sessions_.end();) {
          if (now - i->second->last_used >= cfg_.session_ttl) {
            expired.push_back(i->second);
            i = sessions_.erase(i);
          } else {
            ++i;
          }
        }
      }
      for (auto& s : expired) {
        s->ep->cancel_all();
        end_streams(s);
        s->stop();
      }
      sweep();
    });
  }

  http_config cfg_;
  endpoint_env env_;
  session_started_fn on_session_;
  net::io_context io_{1};
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_guard_{io_.get_executor()};
  tcp::acceptor acceptor_;
  net::steady_timer sweep_timer_;
  net::steady_timer accept_timer_; // retries accept after an error (EMFILE …)
  metrics::label_cap tenants_{100};
  accept_backoff backoff_;         // accept errors in a row
  std::mutex limits_mtx_;
  connection_limits limits_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopped_{false};
  uint16_t port_ = 0;
  std::mutex mtx_;
  std::unordered_map<std::string, std::shared_ptr<http_session>> sessions_;
};

/// Serves one accepted connection until the client or the server ends it
/// (http_transport.cpp).
void serve_connection(tcp::socket sock, std::shared_ptr<http_server> srv, std::string client);

} // namespace cafmcp::protocol
