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
#include <caf/meta/type_name.hpp>

#include "supervision/messages.hpp"

namespace cafmcp::supervision {

struct tree_node {
  std::string id;
  std::string path;
  std::string type;     // worker | supervisor
  std::string state;    // running | restarting | undefined; stopping: a supervisor that stopped while read
  std::string strategy; // supervisors only
  std::string restart;  // permanent | transient | temporary ("" for the top)
  uint64_t restarts = 0;
  uint64_t actor_id = 0;
  int64_t mailbox = -1; // messages waiting; -1: not measured (or no answer)
  bool answers_mailbox = false;
  caf::actor handle;    // local only: not sent to other nodes
  std::vector<tree_node> children;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, tree_node& x) {
  return f(caf::meta::type_name("tree_node"), x.id, x.path, x.type, x.state, x.strategy, x.restart,
           x.restarts, x.actor_id, x.mailbox, x.answers_mailbox, x.children);
}

/// The node for one row of `parent`'s which_children.
tree_node child_node(const tree_node& parent, const child_info& row);

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
