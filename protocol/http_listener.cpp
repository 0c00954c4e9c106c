#include "protocol/http_transport.hpp"

#include <caf/all.hpp>

#include "supervision/log.hpp"

namespace cafmcp::protocol {

namespace {

/// Owns the HTTP server: stopping the actor stops the server. Detached,
/// because stopping joins the server's I/O threads.
caf::behavior listener_actor(caf::event_based_actor* self, std::shared_ptr<http_server> srv) {
  self->attach_functor([srv](const caf::error&) { stop_http_server(*srv); });
  return {
    [srv](caf::get_atom) { return static_cast<uint32_t>(bound_port(*srv)); },
  };
}

} // namespace

supervision::start_function http_listener(http_config cfg, endpoint_env env) {
  return [cfg, env](const supervision::start_context& ctx) -> caf::expected<caf::actor> {
    std::shared_ptr<http_server> srv;
    try {
      srv = start_http_server(cfg, env);
    } catch (const std::exception& e) {
      return caf::make_error(caf::sec::cannot_open_port, std::string{e.what()});
    }
    log::info(ctx.path, "MCP endpoint http://" + cfg.host + ":" + std::to_string(bound_port(*srv)) + cfg.path);
    return ctx.system.spawn<caf::detached>(listener_actor, srv);
  };
}

} // namespace cafmcp::protocol
