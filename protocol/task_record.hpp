#pragma once
// The replicated record of a task: what every node reads to answer tasks/get and to take a task over.

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace cafmcp::protocol {

/// A task's record info (a session record whose info has kind "task"); its
/// state, as tasks/get returns it, is the record's data field
/// `task_state_field`. The JSON field names are the format on disk and on
/// the wire between nodes: change them only with a migration.
struct task_record {
  std::string owner; // the node running the task ("" until the mirror names it)
  std::string tool;
  nlohmann::json arguments = nlohmann::json::object();
  bool idempotent = false; // the tool's idempotentHint: may run again after its node died
  bool resumed = false;    // runs again after its node died: the record exists already
  std::string tenant = {};  // whose task it is ("": no tenant's): no other tenant finds it

  /// {"kind": "task", "owner", "tool", "arguments", "idempotent", "resumed"[, "tenant"]}.
  nlohmann::json to_json() const;
  /// The record in `j`, or nullopt when `j` is not a task record (another
  /// kind, or a field of the wrong type). Missing optional fields default.
  static std::optional<task_record> from_json(const nlohmann::json& j);
  /// The same from a record's info text (not JSON: nullopt).
  static std::optional<task_record> from_info(std::string_view info);
};

/// The record's data field holding the task's state.
inline constexpr const char* task_state_field = "state";

/// A task state as the record's data keeps it (a JSON object), or nullopt.
std::optional<nlohmann::json> parse_task_state(std::string_view text);

/// The owner of a task record that is still "working", given the record's
/// info and its state field; nullopt for any other record (not a task,
/// ended, unreadable). What a takeover scan asks of every record.
std::optional<std::string> working_task_owner(std::string_view info, std::string_view state);

} // namespace cafmcp::protocol
