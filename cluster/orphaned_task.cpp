// Orphaned-task detection: a replicated task record still "working" whose owner is gone.
#include "cluster/orphaned_task.hpp"

#include <nlohmann/json.hpp>

namespace cafmcp::cluster {

std::optional<std::string> working_task_owner(const std::string& info_json, const std::string& state_json) {
  if (info_json.find("\"task\"") == std::string::npos)
    return std::nullopt; // cheap filter before parsing
  auto info = nlohmann::json::parse(info_json, nullptr, false);
  if (!info.is_object() || info.value("kind", "") != "task")
    return std::nullopt;
  auto state = nlohmann::json::parse(state_json, nullptr, false);
  if (!state.is_object() || state.value("status", "") != "working")
    return std::nullopt;
  return info.value("owner", "");
}

std::optional<std::string> orphaned_task_owner(const std::string& info_json, const std::string& state_json,
                                                    const std::string& me,
                                                    const std::function<bool(const std::string&)>& is_member) {
  auto owner = working_task_owner(info_json, state_json);
  if (!owner || (*owner != me && is_member(*owner)))
    return std::nullopt; // not a working task, or its node runs it
  return owner;
}

std::optional<std::string> orphan_detector::check(const std::string& id, const std::string& info_json,
                                                  const std::string& state_json, const std::string& me,
                                                  const std::function<bool(const std::string&)>& is_member) {
  if (seen_.count(id))
    return std::nullopt;
  auto owner = orphaned_task_owner(info_json, state_json, me, is_member);
  if (owner)
    seen_.insert(id);
  return owner;
}

} // namespace cafmcp::cluster
