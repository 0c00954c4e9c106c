// The registry actor: the message front of the node's name table.
#include "actors/registry.hpp"

#include <caf/all.hpp>

#include "actors/errors.hpp"
#include "actors/messages.hpp"
#include "base/error_category.hpp"
#include "supervision/worker.hpp"

namespace cafmcp::actors {

namespace {

caf::behavior registry_actor(caf::event_based_actor*, std::shared_ptr<name_table> table,
                             const std::string& /* path */) {
  return {
    [table](register_atom, const std::string& name, const caf::actor& who) -> caf::result<caf::ok_atom> {
      if (name.empty() || !who)
        return make_error(errc::invalid_argument, "register needs a name and a live actor");
      if (!table->put(name, who))
        return make_error(errc::already_registered, name);
      return caf::ok_atom::value;
    },
    [table](unregister_atom, const std::string& name) -> caf::result<caf::ok_atom> {
      if (!table->erase(name))
        return make_error(errc::not_found, name);
      return caf::ok_atom::value;
    },
    [table](whereis_atom, const std::string& name) -> caf::result<caf::actor> {
      auto h = table->lookup(name);
      if (!h)
        return make_error(errc::not_found, name);
      return h;
    },
    [table](registered_atom) {
      std::vector<std::string> names;
      for (auto& [name, h] : table->list())
        names.push_back(name);
      std::sort(names.begin(), names.end());
      return names;
    },
  };
}

} // namespace

supervision::child_spec registry_spec(std::shared_ptr<name_table> table) {
  return supervision::worker_child("registry", registry_actor, table);
}

std::string to_string(errc x) {
  switch (x) {
    case errc::not_found: return "not_found";
    case errc::already_registered: return "already_registered";
    case errc::invalid_argument: return "invalid_argument";
  }
  return "unknown";
}

caf::error make_error(errc x, std::string context) {
  return errors::category_error(error_category, x, std::move(context));
}

bool is(const caf::error& e, errc x) {
  return errors::is_category_error(e, error_category, x);
}

void register_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<session_record>("cafmcp.session_record");
  cfg.add_message_type<std::vector<session_record>>("cafmcp.session_record_list");
  cfg.add_message_type<breaker_status>("cafmcp.breaker_status");
  cfg.add_message_type<std::vector<breaker_status>>("cafmcp.breaker_status_list");
  cfg.add_message_type<rate_decision>("cafmcp.rate_decision");
  cfg.add_message_type<rate_stats>("cafmcp.rate_stats");
  cfg.add_message_type<rate_limit>("cafmcp.rate_limit");
  cfg.add_message_type<chaos_experiment>("cafmcp.chaos_experiment");
  cfg.add_message_type<std::vector<chaos_experiment>>("cafmcp.chaos_experiment_list");
  cfg.add_message_type<std::vector<rate_limit>>("cafmcp.rate_limit_list");
  errors::add_error_category<errc>(cfg, error_category, "core");
}

} // namespace cafmcp::actors
