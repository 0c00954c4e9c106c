#pragma once

// What each tenant may see and how fast it may call, as a plain class: its
// view of the catalog (tool names allowed by globs, minus those denied) and
// a token bucket of its own. A tenant comes from the caller's bearer token
// (a static token's tenant=, the JWT's tenant_claim) or the configured
// tenant header. Tenants not named here, and callers without one, see the
// whole catalog. The tenants can be replaced while requests read them (a
// cluster's routing version names others: cafmcp tenants add|remove); each
// check reads one whole set of tenants.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/token_bucket.hpp"
#include "base/config_schema.hpp"

namespace cafmcp::protocol {

struct tenant_config {
  std::vector<std::string> tools = {"*"}; // globs over tool names it sees
  std::vector<std::string> deny_tools;    // globs it never sees (over `tools`)
  std::optional<actors::bucket_config> rate; // its requests, all clients together (none: no limit)
};

class tenant_policy {
public:
  using time_point = std::chrono::steady_clock::time_point;
  using tenant_map = std::map<std::string, tenant_config>;

  explicit tenant_policy(tenant_map tenants = {});

  /// Whether `tenant` sees tool `name` (in tools/list, and may call it).
  bool sees(const std::string& tenant, const std::string& name) const;
  /// Whether `tenant` is named here (its view is not the whole catalog).
  bool restricts(const std::string& tenant) const;

  /// One request of `tenant`: 0 when allowed, else the milliseconds until
  /// one would be.
  int64_t take(const std::string& tenant, time_point now);

  /// The tenants in use now.
  std::shared_ptr<const tenant_map> tenants() const { return std::atomic_load(&tenants_); }

  /// Uses `tenants` from now on. A tenant whose rate stays the same keeps
  /// its bucket (a change elsewhere does not refill it); one whose rate
  /// changed starts a full bucket of the new rate. Then calls the listener.
  void replace(tenant_map tenants);
  /// Called after each replace (clients hear that their lists changed).
  void on_replace(std::function<void()> listener);

private:
  std::shared_ptr<const tenant_map> tenants_;
  mutable std::mutex mtx_; // buckets_, listener_
  std::map<std::string, actors::token_bucket> buckets_;
  std::function<void()> listener_;
};

/// The keys of one tenant (under "tenants" in the config), with defaults.
std::vector<config::field> tenant_config_schema();

/// Tenant names: 1 to 128 printable characters, no spaces (what a token's
/// claim or a header can carry).
bool valid_tenant_name(const std::string& name);

/// "tenants" from config (each entry complete, as validated by
/// tenant_config_schema): {"NAME": {"tools": [globs], "deny_tools": [globs],
/// "rate": "CAPACITY/PER_SECOND"}}. Throws std::invalid_argument naming the key.
std::map<std::string, tenant_config> parse_tenants(const nlohmann::json& tenants);

} // namespace cafmcp::protocol
