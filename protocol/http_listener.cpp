// The HTTP side of legacy sessions and the listener: a session actor per Mcp-Session-Id under server_sup, and the acceptor.
#include "protocol/http_transport.hpp"

#include <caf/all.hpp>

#include "base/log.hpp"
#include "supervision/messages.hpp"
#include "supervision/supervisor.hpp"

namespace cafmcp::protocol {

namespace {

/// One request for a legacy session's actor.
struct session_request {
  nlohmann::json body;
  sink_ptr sink;
};

} // namespace

} // namespace cafmcp::protocol

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cafmcp::protocol::session_request)

namespace cafmcp::protocol {

namespace {

/// A legacy HTTP session as an actor under server_sup: it serves the
/// session's requests one after the other and ends the session when it
/// stops (idle for `ttl`, terminated by an operator, or crashed).
caf::behavior session_actor(caf::event_based_actor* self, std::shared_ptr<http_session> entry,
                            std::weak_ptr<http_server> srv, std::chrono::milliseconds ttl) {
  auto me = caf::actor_cast<caf::actor>(self);
  entry->set_actor([me](const nlohmann::json& body,
                        const sink_ptr& sink) { caf::anon_send(me, session_request{body, sink}); },
                   [me] { caf::anon_send(me, caf::close_atom::value); });
  self->attach_functor([srv, id = entry->id](const caf::error&) {
    if (auto s = srv.lock())
      end_http_session(*s, id);
  });
  return {
    [entry](session_request& r) {
      log::correlation_scope scope{r.sink->correlation_id(), r.sink->subject(), r.sink->tenant()};
      entry->ep->handle_value(r.body, r.sink);
    },
    [self](caf::close_atom) { self->quit(); },
    caf::after(ttl) >> [self, entry] {
      log::info("/root/protocol_sup/server_sup", "session " + entry->id + " idle; ending it");
      self->quit();
    },
  };
}

/// Owns the HTTP server: stopping the actor stops the server. Detached,
/// because stopping joins the server's I/O threads.
caf::behavior listener_actor(caf::event_based_actor* self, std::shared_ptr<http_server> srv) {
  self->attach_functor([srv](const caf::error&) { stop_http_server(*srv); });
  return {
    [srv](caf::get_atom) { return static_cast<uint32_t>(bound_port(*srv)); },
  };
}

} // namespace

supervision::start_function http_listener(http_config cfg, endpoint_env env,
                                          std::function<caf::actor()> server_sup) {
  return [cfg, env, server_sup](const supervision::start_context& ctx) -> caf::expected<caf::actor> {
    auto ttl = cfg.session_ttl;
    auto on_session = [server_sup, ttl](const std::shared_ptr<http_session>& entry,
                                        const std::weak_ptr<http_server>& srv) {
      auto sup = server_sup ? server_sup() : caf::actor{};
      if (!sup)
        return; // the transport serves the session itself
      supervision::start_function start = [entry, srv, ttl](const supervision::start_context& c)
        -> caf::expected<caf::actor> { return c.system.spawn(session_actor, entry, srv, ttl); };
      caf::anon_send(sup, supervision::start_child_atom::value, caf::make_message(start));
    };
    std::shared_ptr<http_server> srv;
    try {
      srv = start_http_server(cfg, env, on_session);
    } catch (const std::exception& e) {
      return caf::make_error(caf::sec::cannot_open_port, std::string{e.what()});
    }
    log::info(ctx.path, "MCP endpoint http://" + cfg.host + ":" + std::to_string(bound_port(*srv)) + cfg.path);
    return ctx.system.spawn<caf::detached>(listener_actor, srv);
  };
}

} // namespace cafmcp::protocol
