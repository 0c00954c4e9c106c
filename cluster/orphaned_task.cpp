// Orphaned-task detection: a replicated task record still "working" whose owner is gone.
#include "cluster/orphaned_task.hpp"

#include "protocol/task_record.hpp"

namespace cafmcp::cluster {

std::optional<std::string> orphaned_task_owner(const std::string& info_json, const std::string& state_json,
                                                    const std::string& me,
                                                    const std::function<bool(const std::string&)>& is_member) {
  auto owner = protocol::working_task_owner(info_json, state_json);
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
