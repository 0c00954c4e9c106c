#include "cluster/messages.hpp"

#include <caf/all.hpp>

#include "cluster/errors.hpp"
#include "supervision/error_category.hpp"

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
    case errc::unexpected_answer: return "unexpected_answer";
  }
  return "unknown";
}

caf::error make_error(errc x, std::string context) {
  return supervision::category_error(error_category, x, std::move(context));
}

bool is(const caf::error& e, errc x) {
  return supervision::is_category_error(e, error_category, x);
}

void register_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<member_info>("cafmcp.member_info");
  cfg.add_message_type<std::vector<member_info>>("cafmcp.member_info_list");
  cfg.add_message_type<heartbeat>("cafmcp.heartbeat");
  cfg.add_message_type<status_row>("cafmcp.status_row");
  cfg.add_message_type<std::vector<status_row>>("cafmcp.status_row_list");
  supervision::add_error_category<errc>(cfg, error_category, "cluster");
}

} // namespace cafmcp::cluster
