#pragma once

// A snapshot of a supervision tree, collected through the runtime API, and
// its drawing. Collecting blocks the calling thread: use it from main, a
// CLI or a test, never from inside an actor.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

namespace cafmcp::supervision {

struct tree_node {
  std::string id;
  std::string path;
  std::string type;     // worker | supervisor
  std::string state;    // running | restarting | undefined
  std::string strategy; // supervisors only
  uint64_t restarts = 0;
  uint64_t actor_id = 0;
  caf::actor handle;
  std::vector<tree_node> children;
};

/// Walks the tree below `sup` (whose id and path are given) with
/// which_children, `timeout` per request.
caf::expected<tree_node> collect_tree(caf::actor_system& sys, const caf::actor& sup,
                                      std::string id, std::string path,
                                      std::chrono::milliseconds timeout);

/// Draws the tree, one line per node:
///   root (one_for_one)
///   ├── core_sup (one_for_all)
///   │   └── registry  running  actor 12  restarts 0
std::string draw_tree(const tree_node& root);

/// Finds a node by its path relative to `root` (e.g. "core_sup/registry").
const tree_node* find_node(const tree_node& root, const std::string& relative_path);

} // namespace cafmcp::supervision
