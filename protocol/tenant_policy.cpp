// Tenants: each one's view of the catalog and its own rate limit.
#include "protocol/tenant_policy.hpp"

#include <stdexcept>

#include "actors/core_sup.hpp"
#include "protocol/route_table.hpp"

namespace cafmcp::protocol {

tenant_policy::tenant_policy(std::map<std::string, tenant_config> tenants) : tenants_(std::move(tenants)) {
}

bool tenant_policy::sees(const std::string& tenant, const std::string& name) const {
  auto t = tenants_.find(tenant);
  if (t == tenants_.end())
    return true;
  for (auto& deny : t->second.deny_tools)
    if (glob_match(deny, name))
      return false;
  for (auto& allow : t->second.tools)
    if (glob_match(allow, name))
      return true;
  return false;
}

int64_t tenant_policy::take(const std::string& tenant, time_point now) {
  auto t = tenants_.find(tenant);
  if (t == tenants_.end() || !t->second.rate)
    return 0;
  std::lock_guard<std::mutex> guard{mtx_};
  auto b = buckets_.find(tenant);
  if (b == buckets_.end())
    b = buckets_.emplace(tenant, actors::token_bucket{*t->second.rate, now}).first;
  if (b->second.try_take(now))
    return 0;
  return std::max<int64_t>(1, b->second.retry_after(now).count());
}

std::map<std::string, tenant_config> parse_tenants(const nlohmann::json& tenants) {
  std::map<std::string, tenant_config> out;
  for (auto& [name, entry] : tenants.items()) {
    auto key = "tenants." + name;
    tenant_config cfg;
    cfg.tools = entry.at("tools").get<std::vector<std::string>>();
    cfg.deny_tools = entry.at("deny_tools").get<std::vector<std::string>>();
    auto rate = entry.at("rate").get<std::string>();
    if (!rate.empty()) {
      try {
        cfg.rate = actors::parse_rate(rate);
      } catch (const std::invalid_argument& e) {
        throw std::invalid_argument("\"" + key + ".rate\": " + e.what());
      }
    }
    out.emplace(name, std::move(cfg));
  }
  return out;
}

} // namespace cafmcp::protocol
