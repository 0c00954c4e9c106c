#pragma once

// Upstream MCP servers: stdio programs cafmcp runs and serves, as OTP runs
// port programs, and other servers by URL (Streamable HTTP). Each has an
// actor under upstream_sup (one_for_one) that owns the process
// (base/port_program) or the HTTP session (upstream_http): it starts it,
// speaks MCP to it (upstream_client) and merges its tools into the node's catalog under the
// upstream's name as a namespace ("everything.echo"). Calls are relayed
// with progress and cancellation. When the process exits the actor fails
// the calls in flight and exits too; the supervisor starts both again after
// the configured backoff. Meanwhile the tools stay listed and a call gets a
// clear -32603 error naming the upstream and why it is down.

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <nlohmann/json.hpp>

#include "actors/name_table.hpp"
#include "base/config_schema.hpp"
#include "base/metrics.hpp"
#include "protocol/catalog.hpp"
#include "protocol/catalog_store.hpp"
#include "supervision/child_spec.hpp"

namespace cafmcp::protocol {

struct upstream_config {
  std::string name;                 // the namespace: its tools are NAME.tool
  std::vector<std::string> command; // the program and its arguments (stdio)
  std::string url;                  // or: a Streamable HTTP endpoint
  std::vector<std::string> headers; // with url: "Name: value" on every request
  std::vector<std::string> env;     // "NAME=value" added to the environment
  std::string cwd;                  // "": the node's
  std::chrono::milliseconds start_timeout{30000}; // start to first tool list
  std::chrono::milliseconds call_timeout{60000};  // one relayed call
  size_t max_line = 4 * 1024 * 1024;              // one message from the server
};

/// The keys of one entry of "upstreams" in the node config.
std::vector<config::field> upstream_config_schema();

/// One entry of "upstreams" (validated against the schema) as a config.
/// Throws config::config_error naming the key.
upstream_config parse_upstream(const std::string& name, const nlohmann::json& entry);

/// What every incarnation of one upstream's actor shares with its tools
/// (to explain a call that finds no actor) and with metrics.
class upstream_status {
public:
  void started(int64_t pid);
  void ready(size_t tools);
  void exited(std::string how);
  /// "running (pid 12)", "starting (pid 12)", "down: killed by signal 9".
  std::string describe() const;
  int64_t pid() const;
  /// Its tools answer calls now (started and listed, not down).
  bool serving() const;
  /// A client subscribed to `uri` of this upstream through the node: kept
  /// across restarts (each incarnation subscribes again). True when new;
  /// false when known, or past max_subscriptions (not relayed).
  bool subscribe(const std::string& uri);
  bool subscribed(const std::string& uri) const;
  std::vector<std::string> subscriptions() const;
  static constexpr size_t max_subscriptions = 1000;

private:
  mutable std::mutex mtx_;
  std::string state_ = "starting";
  std::string last_exit_;
  int64_t pid_ = 0;
  std::set<std::string> subscribed_;
};

/// The name an upstream's actor has in the name table.
std::string upstream_actor_name(const std::string& upstream);

/// The supervisor of the upstream actors (one_for_one, started empty).
supervision::child_spec upstream_supervisor(supervision::supervisor_flags flags);

/// The child spec of one upstream's actor (id: the upstream's name;
/// optional, restarted after `backoff`).
supervision::child_spec upstream_spec(upstream_config cfg, std::shared_ptr<catalog_store> store,
                                      std::shared_ptr<actors::name_table> names,
                                      std::shared_ptr<metrics::metrics_registry> metrics,
                                      supervision::backoff_policy backoff);

/// Takes out of the catalog every tool, prompt, resource and resource
/// template upstream `name` served (the entries named `name.*`): once it is
/// removed, not while it is down (then its tools answer why).
void remove_upstream_entries(catalog_store& store, const std::string& name);

/// Asked of an upstream's actor: answers `true` once its tools are in the
/// catalog (at once if they are), or an error when its start failed.
using upstream_ready_atom = caf::atom_constant<caf::atom("up_ready")>;

} // namespace cafmcp::protocol
