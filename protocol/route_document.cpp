// One version of a cluster's routing rules: made, changed into the next, stored.
#include "protocol/route_document.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "base/config_schema.hpp"
#include "protocol/tenant_policy.hpp"
#include "protocol/upstream.hpp"

namespace cafmcp::protocol {

using nlohmann::json;

namespace {

/// `text` as the JSON object of KIND NAME; else std::invalid_argument
/// ("KIND NAME: not JSON: …", "…: must be a JSON object (e.g. EXAMPLE), got …").
json entry_object(const char* kind, const std::string& name, const std::string& text, const char* example) {
  auto parsed = json::parse(text, nullptr, false);
  if (parsed.is_discarded())
    throw std::invalid_argument(std::string{kind} + " " + name + ": not JSON: " + text);
  if (!parsed.is_object())
    throw std::invalid_argument(std::string{kind} + " " + name + ": must be a JSON object (e.g. " + example + "), got "
                                + parsed.dump());
  return parsed;
}

/// Refuses adding KIND NAME to `named` when it is there and not to be replaced.
void check_free(const char* kind, const std::string& name, const json& named, bool replace) {
  if (named.contains(name) && !replace)
    throw std::invalid_argument(std::string{kind} + " " + name + " exists already (remove it first, or replace it)");
}

/// Refuses removing KIND NAME from `named` (of rules version `version`) when it is not there.
void check_named(const char* kind, const std::string& name, const json& named, uint64_t version) {
  if (!named.contains(name))
    throw std::invalid_argument("no " + std::string{kind} + " " + name + " (rules version " + std::to_string(version)
                                + ")");
}

} // namespace

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
  auto parsed = entry_object("route", id, rule, R"({"name": "echo", "targets": [{"tool": "echo2"}]})");
  check_free("route", id, routes, replace);
  auto next = next_version();
  next.routes[id] = std::move(parsed);
  parse_routes(next.routes); // throws naming the key: "routes.ID.targets[0].weight" …
  return next;
}

route_document route_document::without_rule(const std::string& id) const {
  check_named("route", id, routes, version);
  auto next = next_version();
  next.routes.erase(id);
  return next;
}

route_document route_document::with_upstream(const std::string& name, const std::string& entry, bool replace,
                                              const json& current,
                                              const std::vector<std::string>& allowed_programs) const {
  auto parsed = entry_object("upstream", name, entry, R"({"url": "https://mcp.example.com/mcp"})");
  json complete;
  upstream_config cfg;
  try {
    complete = config::validate(parsed, upstream_config_schema(), "upstreams." + name);
    cfg = parse_upstream(name, complete);
  } catch (const config::config_error& e) {
    throw std::invalid_argument(e.what());
  }
  check_free("upstream", name, current, replace);
  if (!cfg.command.empty()
      && std::find(allowed_programs.begin(), allowed_programs.end(), cfg.command[0]) == allowed_programs.end())
    throw std::invalid_argument("upstream " + name + ": program " + cfg.command[0]
                                + " is not in cluster.run_time_programs, so it may not be started at run time "
                                  "(give a url, or list the program in every member's config)");
  auto next = next_version();
  next.upstreams = current;
  (*next.upstreams)[name] = std::move(complete);
  return next;
}

route_document route_document::without_upstream(const std::string& name, const json& current) const {
  check_named("upstream", name, current, version);
  auto next = next_version();
  next.upstreams = current;
  next.upstreams->erase(name);
  return next;
}

route_document route_document::with_tenant(const std::string& name, const std::string& entry, bool replace,
                                            const json& current) const {
  if (!valid_tenant_name(name))
    throw std::invalid_argument("tenant \"" + name + "\": a tenant's name is 1 to 128 printable characters without "
                                "spaces");
  auto parsed = entry_object("tenant", name, entry, R"({"tools": ["search.*"], "rate": "20/10"})");
  json complete;
  try {
    complete = config::validate(parsed, tenant_config_schema(), "tenants." + name);
    parse_tenants(json{{name, complete}}); // the rate: "tenants.NAME.rate": …
  } catch (const config::config_error& e) {
    throw std::invalid_argument(e.what());
  }
  check_free("tenant", name, current, replace);
  auto next = next_version();
  next.tenants = current;
  (*next.tenants)[name] = std::move(complete);
  return next;
}

route_document route_document::without_tenant(const std::string& name, const json& current) const {
  check_named("tenant", name, current, version);
  auto next = next_version();
  next.tenants = current;
  next.tenants->erase(name);
  return next;
}

route_document route_document::redacted() const {
  auto out = *this;
  if (!out.upstreams)
    return out;
  auto mask = [](json& list, char sep, const char* keep_after) {
    if (!list.is_array())
      return;
    for (auto& v : list) {
      if (!v.is_string())
        continue;
      auto s = v.get<std::string>();
      auto at = s.find(sep);
      v = at == std::string::npos ? std::string{"***"} : s.substr(0, at + 1) + keep_after + "***";
    }
  };
  for (auto& [name, entry] : out.upstreams->items()) {
    if (!entry.is_object())
      continue;
    if (entry.contains("headers"))
      mask(entry["headers"], ':', " ");
    if (entry.contains("env"))
      mask(entry["env"], '=', "");
  }
  return out;
}

std::shared_ptr<const route_table> route_document::compile() const {
  if (routes.empty())
    return nullptr;
  return std::make_shared<const route_table>(parse_routes(routes), version);
}

std::string route_document::to_text() const {
  json j{{"version", version}, {"routes", routes}};
  if (upstreams)
    j["upstreams"] = *upstreams;
  if (tenants)
    j["tenants"] = *tenants;
  return j.dump();
}

std::optional<route_document> route_document::from_text(const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("version") || !j["version"].is_number_unsigned() || !j.contains("routes")
      || !j["routes"].is_object())
    return std::nullopt;
  route_document doc{j["version"].get<uint64_t>(), j["routes"]};
  if (auto u = j.find("upstreams"); u != j.end()) {
    if (!u->is_object())
      return std::nullopt;
    doc.upstreams = *u;
  }
  if (auto t = j.find("tenants"); t != j.end()) {
    if (!t->is_object())
      return std::nullopt;
    doc.tenants = *t;
  }
  return doc;
}

} // namespace cafmcp::protocol
