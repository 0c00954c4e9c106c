#pragma once

// `cafmcp status`: connects to any node over CAF (proving the cluster
// cookie) and prints one row per member as that node sees it.

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/cluster_connection.hpp"
#include "actors/messages.hpp"
#include "cluster/messages.hpp"

#include <caf/fwd.hpp>

namespace cafmcp::cli {

struct status_options {
  connection_options connection;
  bool json = false;
  bool watch = false;                  // refresh every second until a key or EOF on stdin
};

/// Each reachable member's replication, by name (members that do not
/// answer within a second are left out).
using replication_map = std::map<std::string, cluster::replication_status>;
replication_map replication_of(caf::actor_system& sys, const caf::actor& node,
                               const std::vector<cluster::status_row>& rows);

/// The status table (as `cafmcp status` prints it) and its JSON; with
/// replication: SESSIONS (records the member leads / holds) and LAG (its
/// oldest unacknowledged replication, ms).
std::string render_status(const std::vector<cluster::status_row>& rows, const replication_map& repl = {});

/// Each reachable member's active chaos experiments, by name.
using chaos_map = std::map<std::string, std::vector<actors::chaos_experiment>>;
chaos_map chaos_of(caf::actor_system& sys, const caf::actor& node, const std::vector<cluster::status_row>& rows);
/// Whole seconds from Unix time `now_ms` until `ends_ms` ("7 s"; "0 s" once past).
std::string seconds_left(int64_t ends_ms, int64_t now_ms);

/// "chaos on n2: kill-1 (…), 7 s left, 12 fault(s)" lines ("": none active).
std::string render_chaos(const chaos_map& chaos);

/// The rows as JSON; each member's active experiments under "chaos".
nlohmann::json status_json(const std::vector<cluster::status_row>& rows, const replication_map& repl = {},
                           const chaos_map& chaos = {});

/// True once stdin has input (or is closed) within `wait`.
bool key_pressed(std::chrono::milliseconds wait);

/// 0: printed; 1: no node answered, or it refused us; 2: bad usage.
int run_status(const status_options& opts);

} // namespace cafmcp::cli
