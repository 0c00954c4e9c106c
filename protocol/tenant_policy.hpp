#pragma once

// What each tenant may see and how fast it may call, as a plain class: its
// view of the catalog (tool names allowed by globs, minus those denied) and
// a token bucket of its own. A tenant comes from the caller's bearer token
// (a static token's tenant=, the JWT's tenant_claim). Tenants not named
// here, and callers without one, see the whole catalog.

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/token_bucket.hpp"

namespace cafmcp::protocol {

struct tenant_config {
  std::vector<std::string> tools = {"*"}; // globs over tool names it sees
  std::vector<std::string> deny_tools;    // globs it never sees (over `tools`)
  std::optional<actors::bucket_config> rate; // its requests, all clients together (none: no limit)
};

class tenant_policy {
public:
  using time_point = std::chrono::steady_clock::time_point;

  explicit tenant_policy(std::map<std::string, tenant_config> tenants);

  /// Whether `tenant` sees tool `name` (in tools/list, and may call it).
  bool sees(const std::string& tenant, const std::string& name) const;
  /// Whether `tenant` is named here (its view is not the whole catalog).
  bool restricts(const std::string& tenant) const { return tenants_.count(tenant) > 0; }

  /// One request of `tenant`: 0 when allowed, else the milliseconds until
  /// one would be.
  int64_t take(const std::string& tenant, time_point now);

  const std::map<std::string, tenant_config>& tenants() const { return tenants_; }

private:
  std::map<std::string, tenant_config> tenants_;
  std::mutex mtx_;
  std::map<std::string, actors::token_bucket> buckets_;
};

/// "tenants" from config: {"NAME": {"tools": [globs], "deny_tools": [globs],
/// "rate": "CAPACITY/PER_SECOND"}}. Throws std::invalid_argument naming the key.
std::map<std::string, tenant_config> parse_tenants(const nlohmann::json& tenants);

} // namespace cafmcp::protocol
