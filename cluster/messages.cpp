#include "cluster/messages.hpp"

#include <caf/all.hpp>

#include "cluster/errors.hpp"

namespace cafmcp::cluster {

const char* to_string(member_state s) {
  switch (s) {
    case member_state::joining: return "joining";
    case member_state::up: return "up";
    case member_state::leaving: return "leaving";
    case member_state::exiting: return "exiting";
    case member_state::down: return "down";
    case member_state::removed: return "removed";
  }
  return "?";
}

const char* to_string(health h) {
  switch (h) {
    case health::healthy: return "healthy";
    case health::degraded: return "degraded";
    case health::unhealthy: return "unhealthy";
  }
  return "?";
}

std::string to_string(errc x) {
  switch (x) {
    case errc::wrong_cookie: return "wrong_cookie";
    case errc::not_authenticated: return "not_authenticated";
    case errc::unknown_node: return "unknown_node";
    case errc::unreachable: return "unreachable";
    case errc::no_handshake: return "no_handshake";
    case errc::timeout: return "timeout";
    case errc::no_node: return "no_node";
  }
  return "unknown";
}

caf::error make_error(errc x, std::string context) {
  if (context.empty())
    return caf::error{static_cast<uint8_t>(x), error_category};
  return caf::error{static_cast<uint8_t>(x), error_category, caf::make_message(std::move(context))};
}

bool is(const caf::error& e, errc x) {
  return e.category() == error_category && e.code() == static_cast<uint8_t>(x);
}

void register_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<member_info>("cafmcp.member_info");
  cfg.add_message_type<std::vector<member_info>>("cafmcp.member_info_list");
  cfg.add_message_type<heartbeat>("cafmcp.heartbeat");
  cfg.add_message_type<status_row>("cafmcp.status_row");
  cfg.add_message_type<std::vector<status_row>>("cafmcp.status_row_list");
  cfg.add_error_category(error_category, [](uint8_t code, caf::atom_value, const caf::message& ctx) {
    auto out = "cluster:" + to_string(static_cast<errc>(code));
    if (ctx.match_elements<std::string>())
      out += " (" + ctx.get_as<std::string>(0) + ")";
    return out;
  });
}

} // namespace cafmcp::cluster
