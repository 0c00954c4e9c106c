// The supervision tree as JSON: one shape for the shell's --json and the dashboard.

#include "supervision/tree_json.hpp"

#include "supervision/tree.hpp"

namespace cafmcp::supervision {

nlohmann::json tree_json(const tree_node& n) {
  using nlohmann::json;
  json j{{"id", n.id},             {"path", n.path},         {"type", n.type}, {"state", n.state},
         {"restarts", n.restarts}, {"actor_id", n.actor_id}};
  if (!n.strategy.empty())
    j["strategy"] = n.strategy;
  if (!n.restart.empty())
    j["restart"] = n.restart;
  j["mailbox"] = n.mailbox < 0 ? json(nullptr) : json(n.mailbox);
  if (n.type == "supervisor") {
    j["children"] = json::array();
    for (auto& c : n.children)
      j["children"].push_back(tree_json(c));
  }
  return j;
}

} // namespace cafmcp::supervision
