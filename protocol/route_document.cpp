// One version of a cluster's routing rules: made, changed into the next, stored.
#include "protocol/route_document.hpp"

#include <cctype>
#include <stdexcept>

namespace cafmcp::protocol {

using nlohmann::json;

bool valid_route_id(const std::string& id) {
  if (id.empty() || id.size() > 64)
    return false;
  for (unsigned char c : id)
    if (!(std::isalnum(c) || c == '_' || c == '-' || c == '.'))
      return false;
  return true;
}

route_document route_document::with_rule(const std::string& id, const std::string& rule, bool replace) const {
  if (!valid_route_id(id))
    throw std::invalid_argument("route id \"" + id + "\": must be 1 to 64 of a-z, A-Z, 0-9, _, - and .");
  auto parsed = json::parse(rule, nullptr, false);
  if (parsed.is_discarded())
    throw std::invalid_argument("route " + id + ": not JSON: " + rule);
  if (!parsed.is_object())
    throw std::invalid_argument("route " + id + ": must be a JSON object (e.g. {\"name\": \"echo\", \"targets\": "
                                "[{\"tool\": \"echo2\"}]}), got " + parsed.dump());
  if (routes.contains(id) && !replace)
    throw std::invalid_argument("route " + id + " exists already (remove it first, or replace it)");
  route_document next{version + 1, routes};
  next.routes[id] = std::move(parsed);
  parse_routes(next.routes); // throws naming the key: "routes.ID.targets[0].weight" …
  return next;
}

route_document route_document::without_rule(const std::string& id) const {
  if (!routes.contains(id))
    throw std::invalid_argument("no route " + id + " (rules version " + std::to_string(version) + ")");
  route_document next{version + 1, routes};
  next.routes.erase(id);
  return next;
}

std::shared_ptr<const route_table> route_document::compile() const {
  if (routes.empty())
    return nullptr;
  return std::make_shared<const route_table>(parse_routes(routes), version);
}

std::string route_document::to_text() const {
  return json{{"version", version}, {"routes", routes}}.dump();
}

std::optional<route_document> route_document::from_text(const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("version") || !j["version"].is_number_unsigned() || !j.contains("routes")
      || !j["routes"].is_object())
    return std::nullopt;
  return route_document{j["version"].get<uint64_t>(), j["routes"]};
}

} // namespace cafmcp::protocol
