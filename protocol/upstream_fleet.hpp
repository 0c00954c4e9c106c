#pragma once

// The upstream servers one node runs, kept equal to a wanted set: the one
// its cluster's routing version names (cafmcp upstreams add|remove). A
// change stops the upstreams that are gone or changed (their actor under
// upstream_sup ends, its process with it, and their entries leave the
// catalog) and starts the new ones. Changes are made one set at a time on
// a short-lived helper actor; a set asked for meanwhile waits, and only the
// newest one waiting is made.

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <caf/fwd.hpp>
#include <nlohmann/json.hpp>

#include "actors/name_table.hpp"
#include "base/metrics.hpp"
#include "protocol/catalog_store.hpp"
#include "supervision/child_spec.hpp"

namespace cafmcp::protocol {

/// From the upstreams a node runs to the ones it should (both: name to
/// complete entry): which to stop and which to start. A changed entry is
/// stopped, then started again.
struct upstream_changes {
  std::vector<std::string> stop;
  std::vector<std::pair<std::string, nlohmann::json>> start;
  bool empty() const { return stop.empty() && start.empty(); }
};
upstream_changes plan_upstreams(const nlohmann::json& running, const nlohmann::json& wanted);

/// Whether this node may start upstream `name` with `entry` when a version
/// names it: "" when it may, else why not. Its config's own entries and
/// servers by URL may always run; a program only when it is in `programs`
/// (cluster.run_time_programs of this node: a member never runs a program
/// its own config does not allow, whoever wrote the version).
std::string may_run(const std::string& name, const nlohmann::json& entry, const nlohmann::json& config_upstreams,
                    const std::vector<std::string>& programs);

class upstream_fleet : public std::enable_shared_from_this<upstream_fleet> {
public:
  struct environment {
    caf::actor_system* sys = nullptr;
    std::shared_ptr<catalog_store> store;
    std::shared_ptr<actors::name_table> names;
    std::shared_ptr<metrics::metrics_registry> metrics;
    supervision::backoff_policy backoff;
  };

  /// `config_upstreams`: what the node starts itself, from its config.
  upstream_fleet(nlohmann::json config_upstreams, std::vector<std::string> programs);

  /// Once the catalog exists: a set asked for before is made now.
  void serve(environment env);

  /// Makes the node run `wanted` (name to complete entry). Returns at once.
  void run(nlohmann::json wanted);

  /// The set the node runs, or is on its way to (what the last change made).
  nlohmann::json running() const;

private:
  void next(); // lock not held
  void finished();

  const nlohmann::json config_;
  const std::vector<std::string> programs_;
  mutable std::mutex mtx_;
  std::optional<environment> env_;
  nlohmann::json running_;
  std::optional<nlohmann::json> pending_;
  bool busy_ = false;
};

} // namespace cafmcp::protocol
