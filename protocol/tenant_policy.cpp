// Tenants: each one's view of the catalog and its own rate limit.
#include "protocol/tenant_policy.hpp"

#include <stdexcept>

#include "actors/core_sup.hpp"
#include "protocol/route_table.hpp"

namespace cafmcp::protocol {

using config::value_type;

tenant_policy::tenant_policy(tenant_map tenants)
  : tenants_(std::make_shared<const tenant_map>(std::move(tenants))) {
}

bool tenant_policy::sees(const std::string& tenant, const std::string& name) const {
  auto all = tenants();
  auto t = all->find(tenant);
  if (t == all->end())
    return true;
  for (auto& deny : t->second.deny_tools)
    if (glob_match(deny, name))
      return false;
  for (auto& allow : t->second.tools)
    if (glob_match(allow, name))
      return true;
  return false;
}

bool tenant_policy::restricts(const std::string& tenant) const {
  return tenants()->count(tenant) > 0;
}

int64_t tenant_policy::take(const std::string& tenant, time_point now) {
  // The set is read under the lock replace() holds while it swaps sets and
  // drops buckets: a bucket is never made from a rate just replaced.
  std::lock_guard<std::mutex> guard{mtx_};
  auto all = tenants();
  auto t = all->find(tenant);
  if (t == all->end() || !t->second.rate)
    return 0;
  auto b = buckets_.find(tenant);
  if (b == buckets_.end())
    b = buckets_.emplace(tenant, actors::token_bucket{*t->second.rate, now}).first;
  if (b->second.try_take(now))
    return 0;
  return std::max<int64_t>(1, b->second.retry_after(now).count());
}

void tenant_policy::replace(tenant_map next) {
  auto fresh = std::make_shared<const tenant_map>(std::move(next));
  std::function<void()> listener;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto old = tenants();
    auto same_rate = [&](const std::string& name) {
      auto a = old->find(name);
      auto b = fresh->find(name);
      if (a == old->end() || b == fresh->end() || !a->second.rate || !b->second.rate)
        return false;
      return a->second.rate->capacity == b->second.rate->capacity
             && a->second.rate->refill_per_second == b->second.rate->refill_per_second;
    };
    for (auto b = buckets_.begin(); b != buckets_.end();)
      b = same_rate(b->first) ? std::next(b) : buckets_.erase(b);
    std::atomic_store(&tenants_, fresh);
    listener = listener_;
  }
  if (listener)
    listener();
}

void tenant_policy::on_replace(std::function<void()> listener) {
  std::lock_guard<std::mutex> guard{mtx_};
  listener_ = std::move(listener);
}

std::vector<config::field> tenant_config_schema() {
  return {
    {"tools", value_type::string_list, nlohmann::json::array({"*"}),
     "globs over the names it sees and may use: of tools, prompts, resources and resource templates", {}, {}, {}, {}},
    {"deny_tools", value_type::string_list, nlohmann::json::array(),
     "globs over tool names it never sees, even if allowed", {}, {}, {}, {}},
    {"rate", value_type::string, "",
     "its requests, all its clients together: \"CAPACITY/PER_SECOND\" (\"\": no limit)", {}, {}, {}, {}},
  };
}

bool valid_tenant_name(const std::string& name) {
  if (name.empty() || name.size() > 128)
    return false;
  for (unsigned char c : name)
    if (c <= 0x20 || c == 0x7f)
      return false;
  return true;
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
