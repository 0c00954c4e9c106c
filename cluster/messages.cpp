// The cluster's message types and their registration.
#include "cluster/messages.hpp"

#include <caf/all.hpp>

#include "cluster/errors.hpp"
#include "base/error_category.hpp"

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
    case errc::fenced: return "fenced";
    case errc::no_quorum: return "no_quorum";
    case errc::placement_moving: return "placement_moving";
    case errc::bad_certificate: return "bad_certificate";
    case errc::forbidden: return "forbidden";
    case errc::clock_drift: return "clock_drift";
    case errc::audit_failed: return "audit_failed";
    case errc::disk_failed: return "disk_failed";
    case errc::cut_not_ready: return "cut_not_ready";
    case errc::cut_busy: return "cut_busy";
    case errc::cut_gone: return "cut_gone";
  }
  return "unknown";
}

const char* to_string(consistency c) {
  switch (c) {
    case consistency::local: return "local";
    case consistency::one: return "one";
    case consistency::majority: return "majority";
    case consistency::all: return "all";
  }
  return "?";
}

bool parse_consistency(const std::string& s, consistency& out) {
  for (auto c : {consistency::local, consistency::one, consistency::majority, consistency::all})
    if (s == to_string(c)) {
      out = c;
      return true;
    }
  return false;
}

const char* to_string(durability d) {
  return d == durability::fsync ? "fsync" : "memory";
}

bool parse_durability(const std::string& s, durability& out) {
  for (auto d : {durability::fsync, durability::memory})
    if (s == to_string(d)) {
      out = d;
      return true;
    }
  return false;
}

caf::error make_error(errc x, std::string context) {
  return errors::category_error(error_category, x, std::move(context));
}

bool is(const caf::error& e, errc x) {
  return errors::is_category_error(e, error_category, x);
}

void register_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<member_info>("cafmcp.member_info");
  cfg.add_message_type<std::vector<member_info>>("cafmcp.member_info_list");
  cfg.add_message_type<heartbeat>("cafmcp.heartbeat");
  cfg.add_message_type<credential>("cafmcp.credential");
  cfg.add_message_type<caller>("cafmcp.caller");
  cfg.add_message_type<status_row>("cafmcp.status_row");
  cfg.add_message_type<std::vector<status_row>>("cafmcp.status_row_list");
  cfg.add_message_type<hlc_stamp>("cafmcp.hlc_stamp");
  cfg.add_message_type<field_value>("cafmcp.field_value");
  cfg.add_message_type<record_delta>("cafmcp.record_delta");
  cfg.add_message_type<std::vector<record_delta>>("cafmcp.record_delta_list");
  cfg.add_message_type<session_op>("cafmcp.session_op");
  cfg.add_message_type<record_digest>("cafmcp.record_digest");
  cfg.add_message_type<member_handle>("cafmcp.member_handle");
  cfg.add_message_type<std::vector<member_handle>>("cafmcp.member_handle_list");
  cfg.add_message_type<peer_replication>("cafmcp.peer_replication");
  cfg.add_message_type<replication_status>("cafmcp.replication_status");
  cfg.add_message_type<cut_part>("cafmcp.cut_part");
  errors::add_error_category<errc>(cfg, error_category, "cluster");
}

} // namespace cafmcp::cluster
