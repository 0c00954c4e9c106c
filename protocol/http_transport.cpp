// One Streamable HTTP connection: POST, GET and DELETE on /mcp, JSON bodies or SSE streams.
// Kept apart from CAF-heavy code: a TU with Beast, Asio, nlohmann and CAF together takes ~30 s to compile.

#include <utility> // Boost 1.74's Asio misses it under C++20

#include "protocol/http_transport.hpp"

#include "base/crypto.hpp"
#include "protocol/jwks_store.hpp"
#include "protocol/read_deadline.hpp"
#include "protocol/tcp_listen.hpp"

#include <atomic>
#include <cerrno>
#include <cctype>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include <sys/socket.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "protocol/detail/http_headers.hpp"
#include "protocol/detail/http_server.hpp"
#include "protocol/versions.hpp"
#include "base/log.hpp"

namespace cafmcp::protocol {

using detail::correlation_for;
using detail::decode_header_value;
using detail::lower;
using detail::origin_allowed;

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using nlohmann::json;

namespace {

constexpr const char* log_path = "/root/protocol_sup/transport_sup/http";

/// The HTTP status for a JSON-RPC error response (200 otherwise).
http::status status_for(const json& response, bool modern) {
  return static_cast<http::status>(detail::http_status_for(response, modern));
}

} // namespace

/// One TCP connection: reads requests one after the other (keep-alive) and
/// writes each response as one JSON body or as a chunked SSE stream.
class connection : public std::enable_shared_from_this<connection> {
public:
  connection(tcp::socket sock, std::shared_ptr<http_server> srv, std::string client)
    : client_(std::move(client)), sock_(std::move(sock)), srv_(std::move(srv)) {}
  ~connection() { srv_->release(client_); }

  void start() { read(); }

  const std::string& correlation() const { return correlation_; }
  /// Whom the current request acts for ("": no authorisation).
  std::string subject() const { return who_ ? who_->subject : std::string{}; }
  /// The current request's tenant: its token's, else http.tenant_header's ("": none).
  const std::string& tenant() const { return tenant_; }
  /// The current request's trace context (its transport span's).
  const trace::context& trace_context() const { return span_.ctx(); }

  // -- called by sinks, from any thread: hop onto the connection's thread --

  void post_event(json msg, bool final, bool modern) {
    // Answered on the connection's own strand (an inline tool, tools/list,
    // ping) with nothing queued before it: written now, which saves a trip
    // through the I/O queue and a poll of the reactor per request.
    auto exec = sock_.get_executor(); // target() points into it: it must outlive the pointer
    auto* strand = exec.target<net::strand<net::io_context::executor_type>>();
    if (queued_events_.load() == 0 && strand && strand->running_in_this_thread())
      return on_event(msg, final, modern);
    ++queued_events_;
    net::post(sock_.get_executor(), [self = shared_from_this(), msg = std::move(msg), final, modern] {
      --self->queued_events_;
      self->on_event(msg, final, modern);
    });
  }

  /// Ends the open stream; `done` is released once its end is written.
  void close_stream(std::shared_ptr<void> done = nullptr) {
    net::post(sock_.get_executor(), [self = shared_from_this(), done = std::move(done)] {
      if (self->streaming_ && !self->closed_)
        self->queue_write("0\r\n\r\n", true, done);
    });
  }

private:
  // -- reading, each phase under its own deadline -----------------------------

  enum class phase { idle, header, body };

  void read() {
    parser_.emplace();
    parser_->body_limit(srv_->config().max_message);
    parser_->header_limit(64 * 1024);
    if (buf_.size() > 0) // the next request's bytes are here already
      return read_header();
    // Between requests: wait for a first byte, at most idle_timeout.
    arm(phase::idle, srv_->config().idle_timeout);
    sock_.async_wait(tcp::socket::wait_read, [self = shared_from_this()](beast::error_code ec) {
      if (ec)
        return self->on_read(ec);
      self->read_header();
    });
  }

  void read_header() {
    arm(phase::header, srv_->config().header_timeout);
    http::async_read_header(sock_, buf_, *parser_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec || self->parser_->is_done())
        return self->on_read(ec);
      self->arm(phase::body, self->srv_->config().body_timeout);
      http::async_read(self->sock_, self->buf_, *self->parser_,
                       [self](beast::error_code ec2, size_t) { self->on_read(ec2); });
    });
  }

  /// Closes the connection if `p` has not ended within `limit` (a slowloris
  /// client sending its request a byte at a time, or one that never ends).
  void arm(phase p, std::chrono::milliseconds limit) {
    deadline_.arm(limit, [self = shared_from_this(), p] {
      if (self->closed_)
        return;
      static const char* names[] = {"idle", "header", "body"};
      auto name = names[static_cast<int>(p)];
      self->srv_->count("cafmcp_http_timeouts_total",
                        "connections closed by http.idle/header/body_timeout_ms, by phase", {{"phase", name}});
      if (p != phase::idle)
        log::info(log_path, std::string{"closed a connection from "} + self->client_ + ": its request's " + name
                              + " did not arrive in time (http." + name + "_timeout_ms)");
      self->close();
    });
  }

  void disarm() { deadline_.disarm(); }

  void on_read(beast::error_code ec) {
    disarm();
    if (ec == http::error::end_of_stream || ec == net::error::eof || ec == net::error::operation_aborted) {
      close();
      return;
    }
    if (ec == http::error::body_limit) {
      reply_error(http::status::payload_too_large, rpc_code::invalid_request,
                  "message exceeds the limit of " + std::to_string(srv_->config().max_message) + " bytes");
      return;
    }
    if (ec) {
      close();
      return;
    }
    req_ = parser_->release();
    keep_alive_ = req_.keep_alive();
    handle();
  }

  void handle() {
    // X-Correlation-ID: the client's (when it is a sane token), else a new
    // UUIDv4; returned on the response, carried into every log line of it.
    correlation_ = correlation_for(header("x-correlation-id"));
    log::correlation_scope scope{correlation_};
    if (trace::enabled())
      begin_span();
    auto& cfg = srv_->config();
    auto target = std::string{req_.target()};
    if (auto q = target.find('?'); q != std::string::npos)
      target.resize(q);
    if (detail::is_loopback_host(cfg.host) && !detail::host_allowed(header(http::field::host), cfg.allowed_hosts))
      return reply_error(http::status::forbidden, rpc_code::invalid_request,
                         "Host " + header(http::field::host)
                           + " is not allowed: this node is bound to a loopback address and answers localhost, "
                             "127.0.0.1, [::1] or http.allowed_hosts (DNS rebinding protection)");
    std::string resource; // only bearer authorisation needs it
    if (cfg.auth.enabled)
      resource = resource_uri(cfg.auth, header(http::field::host), cfg.path);
    if (cfg.auth.enabled && target == metadata_path(resource) && req_.method() == http::verb::get) {
      // Protected resource metadata (RFC 9728): where to get a token; open to all.
      http::response<http::string_body> res{http::status::ok, req_.version()};
      res.set(http::field::content_type, "application/json");
      res.body() = protected_resource_metadata(cfg.auth, resource).dump();
      res.prepare_payload();
      return send(std::move(res));
    }
    if (target != cfg.path)
      return reply_plain(http::status::not_found, "not found: the MCP endpoint is " + cfg.path + "\n");
    if (auto origin = req_.find(http::field::origin); origin != req_.end()) {
      if (!origin_allowed(std::string{origin->value()}, cfg.allowed_origins))
        return reply_error(http::status::forbidden, rpc_code::invalid_request,
                           "Origin " + std::string{origin->value()} + " is not allowed");
    }
    who_.reset();
    tenant_.clear();
    if (cfg.auth.enabled)
      return authorize(resource, true);
    if (take_tenant())
      dispatch();
  }

  /// Sets tenant_ from the token, else from http.tenant_header; false (and
  /// answered 400/403) when the header is malformed, repeated or names a
  /// tenant other than the token's: a client never picks another's tenant.
  bool take_tenant() {
    tenant_ = who_ ? who_->tenant : std::string{};
    auto& name = srv_->config().tenant_header;
    auto [first, last] = name.empty() ? std::make_pair(req_.end(), req_.end()) : req_.equal_range(name);
    if (first != last && !pick_tenant(name, std::string{first->value()}, std::next(first) != last))
      return false;
    if (span_.recording() && !tenant_.empty())
      span_.set("cafmcp.tenant", tenant_);
    return true;
  }

  /// take_tenant's header `name` with `value` (`repeated`: sent more than once).
  bool pick_tenant(const std::string& name, std::string value, bool repeated) {
    if (repeated || !detail::is_tenant_name(value)) {
      reply_error(http::status::bad_request, rpc_code::invalid_request,
                  "header " + name + " must appear once and name a tenant (1 to 128 visible ASCII characters)");
      return false;
    }
    if (!tenant_.empty() && value != tenant_) {
      reply_error(http::status::forbidden, rpc_code::invalid_request,
                  "header " + name + " names tenant " + value + ", but the bearer token is tenant " + tenant_ + "'s");
      return false;
    }
    tenant_ = std::move(value);
    return true;
  }

  /// With mcp.auth: the bearer token's principal, or a 401. A token naming
  /// a key the JWKS URL's set lacks (the provider rotated its keys) waits
  /// for one early fetch of the set (`may_wait`), then is checked again.
  void authorize(const std::string& resource, bool may_wait) {
    auto& cfg = srv_->config();
    {
      auto outcome = authenticate(cfg.auth, header(http::field::authorization), resource);
      if (!outcome.who && outcome.key_unknown && may_wait
          && cfg.auth.jwt.source->await_fetch([self = shared_from_this(), resource] {
               net::post(self->sock_.get_executor(), [self, resource] {
                 log::correlation_scope scope{self->correlation_};
                 self->authorize(resource, false);
               });
             }))
        return;
      if (!outcome.who) {
        srv_->count("cafmcp_http_unauthorized_total", "MCP requests refused with 401 (no or an unknown bearer token)");
        http::response<http::string_body> res{http::status::unauthorized, req_.version()};
        res.set(http::field::www_authenticate, outcome.www_authenticate);
        res.set(http::field::content_type, "application/json");
        res.body() = dump(make_error(nullptr, rpc_error{rpc_code::invalid_request, outcome.message, nullptr}));
        res.prepare_payload();
        return send(std::move(res));
      }
      who_ = std::move(outcome.who);
      if (!take_tenant())
        return;
      srv_->count("cafmcp_http_authenticated_total",
                  "MCP requests with an accepted bearer token, by tenant (\"\": none; past 100 tenants: other)",
                  {{"tenant", srv_->tenant_label(tenant_)}});
      if (span_.recording())
        span_.set("enduser.id", who_->subject);
    }
    log::correlation_scope scope{correlation_, subject(), tenant()}; // the request's log lines say whose it is
    if (log::enabled(log::level::debug))
      log::debug(log_path, std::string{req_.method_string()} + " from " + client_ + " with a bearer token");
    dispatch();
  }

  void dispatch() {
    switch (req_.method()) {
      case http::verb::post: return on_post();
      case http::verb::get: return on_get();
      case http::verb::delete_: return on_delete();
      default: {
        http::response<http::string_body> res{http::status::method_not_allowed, req_.version()};
        res.set(http::field::allow, "POST, GET, DELETE");
        res.prepare_payload();
        return send(std::move(res));
      }
    }
  }

  /// The transport's span: a child of the caller's traceparent when it is
  /// valid (an invalid one is ignored, as W3C Trace Context says: a new
  /// trace starts), carrying its tracestate and baggage on.
  void begin_span() {
    std::string why;
    auto parent = trace::from_carriers(header("traceparent"), header("tracestate"), header("baggage"), &why);
    if (!why.empty())
      log::debug(log_path, "ignoring the request's traceparent (" + why + "); starting a new trace");
    auto method = std::string{req_.method_string()};
    auto target = std::string{req_.target()};
    auto path = target.substr(0, target.find('?'));
    span_ = trace::start_span(method + " " + path, trace::span_kind::server, parent);
    if (!span_.recording())
      return;
    span_.set("http.request.method", method);
    span_.set("url.path", path);
    span_.set("cafmcp.correlation_id", correlation_);
    for (auto& [k, v] : trace::baggage_entries(parent.baggage))
      span_.set("baggage." + k, v);
  }

  std::string header(http::field f) const {
    auto i = req_.find(f);
    return i == req_.end() ? std::string{} : std::string{i->value()};
  }

  std::string header(const char* name) const {
    auto i = req_.find(name);
    return i == req_.end() ? std::string{} : std::string{i->value()};
  }

  void on_post() {
    auto accept = lower(header(http::field::accept));
    if (accept.find("application/json") == std::string::npos
        || accept.find("text/event-stream") == std::string::npos)
      return reply_error(http::status::not_acceptable, rpc_code::invalid_request,
                         "Accept must list application/json and text/event-stream");
    auto content_type = lower(header(http::field::content_type));
    if (content_type.rfind("application/json", 0) != 0)
      return reply_error(http::status::unsupported_media_type, rpc_code::invalid_request,
                         "Content-Type must be application/json");
    json body;
    if (auto err = parse(req_.body(), body))
      return reply_error(http::status::bad_request, err->code, err->message);
    if (who_ && refuse_lacking_scope(body))
      return;
    if (is_modern_body(body))
      return post_modern(body);
    post_legacy(body);
  }

  /// With mcp.auth: answers 403 insufficient_scope (true) when a tools/call
  /// in `body` (or in a batch) names a tool whose scope the token lacks.
  bool refuse_lacking_scope(const json& body) {
    auto& auth = srv_->config().auth;
    auto catalog = srv_->env().catalog ? srv_->env().catalog->snapshot() : nullptr;
    auto refusal = find_lacking_scope(auth, *who_, body, [&catalog](const std::string& tool) {
      auto def = catalog ? catalog->find_tool(tool) : nullptr;
      return def ? def->required_scope : std::string{};
    });
    if (!refusal)
      return false;
    srv_->count("cafmcp_http_forbidden_total", "MCP tool calls refused with 403 (the token lacks the tool's scope)");
    http::response<http::string_body> res{http::status::forbidden, req_.version()};
    auto resource = resource_uri(auth, header(http::field::host), srv_->config().path);
    res.set(http::field::www_authenticate, insufficient_scope_challenge(metadata_url(resource), refusal->scope));
    res.set(http::field::content_type, "application/json");
    res.body() = dump(make_error(refusal->id, rpc_error{rpc_code::invalid_request, refusal->message,
                                                       json{{"scope", refusal->scope}}}));
    res.prepare_payload();
    send(std::move(res));
    return true;
  }

  static bool is_modern_body(const json& body) {
    if (!body.is_object())
      return false;
    auto p = body.find("params");
    if (p == body.end() || !p->is_object())
      return false;
    auto m = p->find("_meta");
    return m != p->end() && m->is_object() && m->contains(meta_key::protocol_version);
  }

  /// Checks the 2026-07-28 headers against the body; "" when they agree.
  void post_modern(const json& body) {
    if (auto problem = detail::header_mismatch(body, [this](const char* name) { return header(name); });
        !problem.empty())
      return reply_error(http::status::bad_request, mcp_code::header_mismatch, "Header mismatch: " + problem, body.value("id", json{}));
    // One stateless endpoint per connection: its requests come one at a
    // time, so their ids cannot collide with another client's.
    if (!stateless_)
      stateless_ = std::make_shared<endpoint>(srv_->env());
    dispatch(stateless_, body, true);
  }

  void post_legacy(const json& body) {
    auto version = header("mcp-protocol-version");
    if (!version.empty() && !is_legacy(version)) {
      auto id = body.is_object() ? body.value("id", json{}) : json{};
      if (is_modern(version)) // a stateless request without its _meta (MCP 2026-07-28: -32602)
        return reply_error(http::status::bad_request, rpc_code::invalid_params,
                           "Invalid params: MCP-Protocol-Version " + version + " requests carry params._meta[\""
                             + meta_key::protocol_version + "\"] and [\"" + meta_key::client_capabilities
                             + "\"]; " + detail::missing_modern_meta(body),
                           id);
      return reply_error(http::status::bad_request, mcp_code::unsupported_protocol_version,
                         "Unsupported protocol version: " + version, id,
                         json{{"supported", all_versions()}, {"requested", version}});
    }
    bool is_init = body.is_object() && body.value("method", "") == "initialize";
    auto session_id = header("mcp-session-id");
    if (is_init) {
      if (!session_id.empty())
        return reply_error(http::status::bad_request, rpc_code::invalid_request,
                           "initialize must not carry Mcp-Session-Id", body.value("id", json{}));
      return initialize(body);
    }
    if (session_id.empty())
      return reply_error(http::status::bad_request, rpc_code::invalid_request,
                         "Bad Request: Mcp-Session-Id header is required (send initialize first, or use "
                         "MCP 2026-07-28 with params._meta)", body.is_object() ? body.value("id", json{}) : json{});
    with_session(session_id, [self = shared_from_this(), session_id, body](std::shared_ptr<http_session> session) {
      if (!session)
        return self->reply_error(http::status::not_found, rpc_code::invalid_request,
                                 "Session not found: " + session_id + " (initialize a new one)",
                                 body.is_object() ? body.value("id", json{}) : json{});
      self->dispatch_session(session, body);
    });
  }

  /// The legacy session `id`: this node's, or one started on another
  /// member (a failover) restored from its replicated record. `found` runs
  /// on this connection's thread, with nullptr when there is none.
  void with_session(const std::string& id, std::function<void(std::shared_ptr<http_session>)> found_any) {
    // A session started under another subject or tenant is not found (404),
    // as if it did not exist: its id alone must not let one client act as another.
    auto found = [found_any, subject = subject(), tenant = tenant()](std::shared_ptr<http_session> s) {
      if (s) {
        auto state = s->ep->session();
        if (!state || state->subject != subject || state->tenant != tenant)
          return found_any(nullptr);
      }
      found_any(std::move(s));
    };
    if (auto s = srv_->find_session(id))
      return found(std::move(s));
    if (srv_->session_count() >= srv_->config().max_sessions)
      return found(nullptr);
    std::weak_ptr<connection> weak = shared_from_this();
    auto exec = sock_.get_executor();
    endpoint::restore(srv_->env(), id, [weak, exec, id, found](std::shared_ptr<endpoint> ep) {
      net::post(exec, [weak, id, found, ep] {
        auto self = weak.lock();
        if (!self)
          return;
        if (!ep)
          return found(nullptr);
        if (auto s = self->srv_->find_session(id)) // restored meanwhile by another request
          return found(std::move(s));
        log::info(log_path, "legacy session " + id + " restored from its record (started on another node)");
        found(self->register_session(ep));
      });
    });
  }

  /// Serves `ep`'s legacy session from now on (its id is the Mcp-Session-Id).
  std::shared_ptr<http_session> register_session(const std::shared_ptr<endpoint>& ep) {
    auto entry = std::make_shared<http_session>();
    entry->id = ep->session()->id;
    entry->ep = ep;
    std::weak_ptr<http_session> weak_entry = entry;
    ep->set_push([weak_entry](const json& n) {
      if (auto e = weak_entry.lock())
        e->push(n);
    });
    srv_->add_session(entry->id, entry);
    return entry;
  }

  void initialize(const json& body) {
    if (srv_->session_count() >= srv_->config().max_sessions)
      return reply_error(http::status::service_unavailable, mcp_code::server_busy,
                         "Server busy: " + std::to_string(srv_->config().max_sessions)
                           + " sessions are open; retry later or use MCP 2026-07-28 (stateless)",
                         body.value("id", json{}));
    auto ep = std::make_shared<endpoint>(srv_->env());
    // initialize is answered synchronously: capture it to add the header.
    struct capture : request_sink {
      json response;
      trace::context trace;
      void notify(const json&) override {}
      void respond(const json& r) override { response = r; }
      trace::context trace_context() const override { return trace; }
      std::string subject() const override { return who; }
      std::string tenant() const override { return org; }
      std::string client_address() const override { return address; }
      std::string who, org, address;
    };
    auto sink = std::make_shared<capture>();
    sink->trace = span_.ctx();
    sink->who = subject();
    sink->org = tenant();
    sink->address = client_;
    ep->handle_value(body, sink);
    http::response<http::string_body> res{status_for(sink->response, false), req_.version()};
    res.set(http::field::content_type, "application/json");
    if (auto after = detail::retry_after_for(sink->response); !after.empty())
      res.set(http::field::retry_after, after);
    if (auto s = ep->session(); s && sink->response.contains("result")) {
      register_session(ep);
      res.set("Mcp-Session-Id", s->id);
      log::debug(log_path, "legacy session " + s->id + " (" + s->protocol_version + ")");
    }
    res.body() = dump(sink->response);
    res.prepare_payload();
    send(std::move(res));
  }

  void dispatch(const std::shared_ptr<endpoint>& ep, const json& body, bool modern);
  void dispatch_session(const std::shared_ptr<http_session>& session, const json& body);
  void accepted();
  void watch_for_close();

  void on_get() {
    auto session_id = header("mcp-session-id");
    if (session_id.empty()) {
      // Stateless (2026-07-28) clients have no GET stream.
      http::response<http::string_body> res{http::status::method_not_allowed, req_.version()};
      res.set(http::field::allow, "POST");
      res.prepare_payload();
      return send(std::move(res));
    }
    auto accept = lower(header(http::field::accept));
    if (accept.find("text/event-stream") == std::string::npos)
      return reply_error(http::status::not_acceptable, rpc_code::invalid_request,
                         "Accept must list text/event-stream");
    with_session(session_id, [self = shared_from_this(), session_id](std::shared_ptr<http_session> session) {
      if (!session)
        return self->reply_error(http::status::not_found, rpc_code::invalid_request,
                                 "Session not found: " + session_id);
      self->open_stream(session);
    });
  }

  void open_stream(const std::shared_ptr<http_session>& session) {
    {
      // The stream stays open for server-initiated messages of the session.
      std::weak_ptr<connection> weak = shared_from_this();
      std::lock_guard<std::mutex> guard{session->mtx_};
      session->streams_.push_back(http_session::stream{[weak](std::shared_ptr<void> done) {
                                                         if (auto c = weak.lock())
                                                           c->close_stream(std::move(done));
                                                       },
                                                       [weak](const json& msg) {
                                                         auto c = weak.lock();
                                                         if (!c || c->closed_)
                                                           return false;
                                                         c->post_event(msg, false, false);
                                                         return true;
                                                       }});
    }
    start_stream();
    queue_write(chunk(": stream open\n\n"), false);
  }

  void on_delete() {
    auto session_id = header("mcp-session-id");
    if (session_id.empty())
      return reply_error(http::status::bad_request, rpc_code::invalid_request,
                         "Mcp-Session-Id header is required");
    with_session(session_id, [self = shared_from_this(), session_id](std::shared_ptr<http_session> session) {
      if (!session)
        return self->reply_error(http::status::not_found, rpc_code::invalid_request,
                                 "Session not found: " + session_id);
      // On every member: its record is deleted; answered once that is acknowledged.
      // (The connection is kept alive until then: nothing else holds it
      // while no read or write is under way; the request times out in 5 s.)
      auto exec = self->sock_.get_executor();
      session->ep->forget_session([self, exec, session_id](std::string err) {
        net::post(exec, [self, session_id, err] {
          if (!err.empty())
            return self->reply_error(http::status::service_unavailable, rpc_code::internal_error,
                                     "Session " + session_id + " was not deleted: " + err + "; retry the DELETE");
          // 204 once the session's GET streams are ended: a client that
          // closes right after the DELETE would report their end as a
          // transport error. A reader too stuck to take the last chunk
          // holds the answer back no more than a second.
          auto answered = std::make_shared<std::atomic<bool>>(false);
          auto answer = [self, answered] {
            if (answered->exchange(true))
              return;
            http::response<http::string_body> res{http::status::no_content, self->req_.version()};
            res.keep_alive(self->keep_alive_);
            self->send(std::move(res));
          };
          auto exec = self->sock_.get_executor();
          auto timer = std::make_shared<net::steady_timer>(exec, std::chrono::seconds(1));
          timer->async_wait([answer, timer](beast::error_code) { answer(); });
          self->srv_->end_session(session_id, [exec, answer, timer] {
            net::post(exec, [answer, timer] {
              timer->cancel();
              answer();
            });
          });
          log::debug(log_path, "legacy session " + session_id + " ended by the client");
        });
      });
    });
  }

  // -- writing --------------------------------------------------------------------

  void on_event(const json& msg, bool final, bool modern) {
    if (closed_)
      return;
    if (!streaming_ && final) {
      // The whole answer at once: a plain JSON response.
      http::response<http::string_body> res{status_for(msg, modern), req_.version()};
      res.set(http::field::content_type, "application/json");
      if (auto after = detail::retry_after_for(msg); !after.empty())
        res.set(http::field::retry_after, after);
      res.body() = dump(msg);
      res.prepare_payload();
      res.keep_alive(keep_alive_);
      send(std::move(res));
      return;
    }
    if (!streaming_)
      start_stream();
    queue_write(chunk("data: " + dump(msg) + "\n\n"), false);
    if (final)
      queue_write("0\r\n\r\n", true);
  }

  static std::string chunk(const std::string& data) {
    char size[32];
    std::snprintf(size, sizeof(size), "%zx\r\n", data.size());
    return size + data + "\r\n";
  }

  void start_stream() {
    streaming_ = true;
    keep_alive_tick();
    std::string head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                       "X-Accel-Buffering: no\r\nTransfer-Encoding: chunked\r\n";
    if (!correlation_.empty())
      head += "X-Correlation-ID: " + correlation_ + "\r\n";
    span_.set("http.response.status_code", int64_t{200});
    head += keep_alive_ ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
    queue_write(std::move(head), false);
  }

  /// An SSE comment on an idle open stream: proxies keep it open, and a
  /// client that vanished is found (the write fails) and its work cancelled.
  void keep_alive_tick() {
    ka_timer_.expires_after(srv_->config().keepalive);
    ka_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || self->closed_ || !self->streaming_)
        return;
      if (self->out_.empty())
        self->queue_write(chunk(": keep-alive\n\n"), false);
      self->keep_alive_tick();
    });
  }

  /// Writes in order; `ends_response` marks the last bytes of a response.
  void queue_write(std::string data, bool ends_response, std::shared_ptr<void> written = nullptr) {
    // A response's first bytes always go out (one JSON answer may be large);
    // a stream's events wait for its reader only up to the limit.
    if (!backlog_.add(data.size()) && streaming_ && !out_.empty()) {
      // A reader too slow for its stream: dropped, never buffered without bound.
      srv_->count("cafmcp_http_slow_readers_total",
                  "SSE streams closed with more than http.max_stream_queue_bytes waiting for their reader");
      log::info(log_path, "closed a stream to " + client_ + ": more than "
                            + std::to_string(srv_->config().max_stream_queue_bytes)
                            + " bytes waited for the client to read them (http.max_stream_queue_bytes)");
      return client_gone();
    }
    out_.push_back({std::move(data), ends_response, std::move(written)});
    if (!writing_)
      write_next();
  }

  void write_next() {
    if (out_.empty()) {
      writing_ = false;
      return;
    }
    writing_ = true;
    net::async_write(sock_, net::buffer(out_.front().data),
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       auto ends = self->out_.front().ends_response;
                       self->backlog_.written(self->out_.front().data.size());
                       self->out_.pop_front();
                       if (ec) {
                         self->client_gone();
                         return;
                       }
                       if (ends)
                         self->response_done();
                       self->write_next();
                     });
  }

  template <class Body>
  void send(http::response<Body> res) {
    res.keep_alive(keep_alive_);
    if (!correlation_.empty())
      res.set("X-Correlation-ID", correlation_);
    if (span_.active()) {
      if (span_.recording())
        span_.set("http.response.status_code", static_cast<int64_t>(res.result_int()));
      if (res.result_int() >= 500)
        span_.fail(std::string{res.reason()});
    }
    auto sp = std::make_shared<http::response<Body>>(std::move(res));
    http::async_write(sock_, *sp, [self = shared_from_this(), sp](beast::error_code ec, size_t) {
      if (ec)
        return self->client_gone();
      self->response_done();
    });
  }

  void response_done() {
    span_.end();
    streaming_ = false;
    ka_timer_.cancel();
    if (on_gone_)
      on_gone_ = nullptr; // answered: a later disconnect cancels nothing
    if (keep_alive_)
      read();
    else
      close();
  }

  void client_gone() {
    span_.fail("the client closed the connection before the response was written");
    span_.end();
    closed_ = true;
    if (on_gone_) {
      auto f = std::move(on_gone_);
      on_gone_ = nullptr;
      f(); // MCP 2026-07-28: a closed response stream cancels the request
    }
    close();
  }

  void close() {
    closed_ = true;
    ka_timer_.cancel();
    deadline_.disarm();
    if (stateless_)
      stateless_->cancel_all(); // ends its listens: nothing keeps this connection alive
    beast::error_code ec;
    sock_.shutdown(tcp::socket::shutdown_both, ec);
    sock_.close(ec);
  }

  void reply_plain(http::status status, std::string text) {
    http::response<http::string_body> res{status, req_.version()};
    res.set(http::field::content_type, "text/plain");
    res.body() = std::move(text);
    res.prepare_payload();
    send(std::move(res));
  }

  void reply_error(http::status status, int code, std::string message, json id = nullptr, json data = nullptr) {
    http::response<http::string_body> res{status, req_.version()};
    res.set(http::field::content_type, "application/json");
    res.body() = dump(make_error(id, rpc_error{code, std::move(message), std::move(data)}));
    res.prepare_payload();
    if (status == http::status::payload_too_large)
      keep_alive_ = false; // the rest of the body was never read
    send(std::move(res));
  }

  struct pending_write {
    std::string data;
    bool ends_response;
    std::shared_ptr<void> written; // released once written (or the connection is gone)
  };

  std::string correlation_; // the current request's X-Correlation-ID
  trace::span span_;        // the current request's transport span
  std::string client_;      // the peer's address (connection limits, logs)
  std::optional<principal> who_; // the current request's, with mcp.auth
  std::string tenant_;           // the current request's (take_tenant)
  tcp::socket sock_;
  std::shared_ptr<http_server> srv_;
  beast::flat_buffer buf_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::request<http::string_body> req_;
  bool keep_alive_ = true;
  bool streaming_ = false;
  bool writing_ = false;
  std::atomic<bool> closed_{false}; // also read by other threads (session push)
  std::atomic<int> queued_events_{0}; // posted by post_event, not yet handled (keeps their order)
  std::deque<pending_write> out_;
  net::steady_timer ka_timer_{sock_.get_executor()};
  write_backlog backlog_{srv_->config().max_stream_queue_bytes}; // bytes in out_
  read_deadline deadline_{sock_.get_executor()}; // of the read phase under way
  std::shared_ptr<endpoint> stateless_;
  std::function<void()> on_gone_;

  friend class http_exchange;
};

/// The sink of one POST: the first notification turns the response into an
/// SSE stream; the response ends it.
class http_exchange : public request_sink {
public:
  http_exchange(std::shared_ptr<connection> conn, bool modern)
    : conn_(std::move(conn)), modern_(modern), correlation_(conn_->correlation()),
      trace_(conn_->trace_context()), subject_(conn_->subject()), tenant_(conn_->tenant()),
      address_(conn_->client_) {
    if (auto& routes = conn_->srv_->config().routes) {
      table_ = routes->current();
      if (table_)
        for (auto& name : table_->header_names())
          if (auto h = conn_->req_.find(name); h != conn_->req_.end())
            headers_.emplace_back(name, std::string{h->value()});
    }
  }
  void notify(const json& n) override { conn_->post_event(n, false, modern_); }
  void respond(const json& r) override { conn_->post_event(r, true, modern_); }
  std::string correlation_id() const override { return correlation_; }
  trace::context trace_context() const override { return trace_; }
  std::string subject() const override { return subject_; }
  std::string tenant() const override { return tenant_; }
  std::string client_address() const override { return address_; }
  std::optional<std::string> header(const std::string& lower_name) const override {
    for (auto& [name, value] : headers_)
      if (name == lower_name)
        return value;
    return std::nullopt;
  }
  std::optional<std::shared_ptr<const route_table>> routes() const override {
    if (!conn_->srv_->config().routes)
      return std::nullopt;
    return table_;
  }

private:
  std::vector<std::pair<std::string, std::string>> headers_; // those routing rules look at
  std::shared_ptr<const route_table> table_; // the rules whose headers were kept: they decide
  std::shared_ptr<connection> conn_;
  bool modern_;
  std::string correlation_;
  trace::context trace_;
  std::string subject_;
  std::string tenant_;
  std::string address_;
};

void connection::dispatch(const std::shared_ptr<endpoint>& ep, const json& body, bool modern) {
  if (modern && body.is_object() && body.contains("id")) {
    std::weak_ptr<endpoint> weak = ep;
    auto id = body["id"];
    on_gone_ = [weak, id] {
      if (auto e = weak.lock())
        e->cancel(id);
    };
  }
  auto sink = std::make_shared<http_exchange>(shared_from_this(), modern);
  if (ep->handle_value(body, sink) == 0)
    return accepted();
  if (on_gone_ && !writing_ && buf_.size() == 0)
    watch_for_close();
}

void connection::watch_for_close() {
  // While a request waits for its answer nothing reads the socket: watch
  // it, so that a client that closes (cancels, in 2026-07-28) is seen at
  // once, not only when the answer is written.
  sock_.async_wait(tcp::socket::wait_read, [self = shared_from_this()](beast::error_code ec) {
    if (ec || self->closed_ || !self->on_gone_)
      return;
    char c;
    auto n = ::recv(self->sock_.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
      return self->client_gone();
    if (n < 0)
      return self->watch_for_close();
    // Bytes of a next request: the client is still there.
  });
}

void connection::accepted() {
  // Notifications and responses only: accepted, no body.
  on_gone_ = nullptr;
  http::response<http::string_body> res{http::status::accepted, req_.version()};
  res.prepare_payload();
  send(std::move(res));
}

void connection::dispatch_session(const std::shared_ptr<http_session>& session, const json& body) {
  // The session's actor answers asynchronously: decide 202 from the body.
  auto s = session->ep->session();
  if (endpoint::expected_responses(body, s && allows_batch(s->protocol_version)) == 0) {
    session->serve(body, std::make_shared<http_exchange>(shared_from_this(), false));
    return accepted();
  }
  session->serve(body, std::make_shared<http_exchange>(shared_from_this(), false));
}

void serve_connection(tcp::socket sock, std::shared_ptr<http_server> srv, std::string client) {
  std::make_shared<connection>(std::move(sock), std::move(srv), std::move(client))->start();
}

} // namespace cafmcp::protocol
