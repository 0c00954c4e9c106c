#pragma once
// Orphaned-task detection: a replicated task record still "working" whose owner is gone (or is this node, restarted).

#include <functional>
#include <optional>
#include <set>
#include <string>

namespace cafmcp::cluster {

/// A working task whose owner is this node (which may have restarted) or
/// is not an up member (`is_member`); its owner then, else none.
std::optional<std::string> orphaned_task_owner(const std::string& info_json, const std::string& state_json,
                                                    const std::string& me,
                                                    const std::function<bool(const std::string&)>& is_member);

/// Reports each orphaned task once (the node resumes or fails it).
class orphan_detector {
public:
  /// The owner when record `id` is an orphaned task not reported before.
  std::optional<std::string> check(const std::string& id, const std::string& info_json, const std::string& state_json,
                                   const std::string& me, const std::function<bool(const std::string&)>& is_member);

private:
  std::set<std::string> seen_;
};

} // namespace cafmcp::cluster
