// A legacy session's record format in the session manager, in one place.
#include "protocol/legacy_session_record.hpp"

namespace cafmcp::protocol {

using nlohmann::json;

json legacy_session::to_json() const {
  json j{{"kind", "legacy_session"},
         {"protocolVersion", protocol_version},
         {"clientInfo", client_info},
         {"capabilities", client_capabilities},
         {"logLevel", log_level},
         {"subscriptions", subscriptions}};
  if (!subject.empty())
    j["subject"] = subject;
  if (!tenant.empty())
    j["tenant"] = tenant;
  return j;
}

std::optional<legacy_session> legacy_session::from_json(const std::string& id, const json& j) {
  if (!j.is_object() || j.value("kind", json()) != "legacy_session")
    return std::nullopt;
  auto version = j.find("protocolVersion");
  if (version == j.end() || !version->is_string())
    return std::nullopt;
  legacy_session s;
  s.id = id;
  s.protocol_version = version->get<std::string>();
  s.client_info = j.value("clientInfo", json::object());
  s.client_capabilities = j.value("capabilities", json::object());
  s.initialized = true; // a client that comes back has finished its handshake
  if (auto level = j.find("logLevel"); level != j.end() && level->is_string())
    s.log_level = level->get<std::string>();
  if (auto subject = j.find("subject"); subject != j.end() && subject->is_string())
    s.subject = subject->get<std::string>();
  if (auto tenant = j.find("tenant"); tenant != j.end() && tenant->is_string())
    s.tenant = tenant->get<std::string>();
  if (auto subs = j.find("subscriptions"); subs != j.end() && subs->is_array())
    for (auto& u : *subs)
      if (u.is_string())
        s.subscriptions.insert(u.get<std::string>());
  return s;
}

std::optional<legacy_session> legacy_session::from_info(const std::string& id, std::string_view info) {
  return from_json(id, json::parse(info, nullptr, false));
}

} // namespace cafmcp::protocol
