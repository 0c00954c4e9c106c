// A supervision tree snapshot, collected through the runtime API, and its drawing.
#include "supervision/tree.hpp"

#include <caf/all.hpp>

#include "supervision/messages.hpp"

namespace cafmcp::supervision {

namespace {

caf::error fill(caf::scoped_actor& self, tree_node& node, std::chrono::milliseconds timeout) {
  caf::error err;
  self->request(node.handle, timeout, info_atom::value)
    .receive([&](supervisor_info& info) { node.strategy = info.strategy; },
             [&](caf::error& e) { err = std::move(e); });
  if (err)
    return err;
  std::vector<child_info> rows;
  self->request(node.handle, timeout, which_children_atom::value)
    .receive([&](std::vector<child_info>& xs) { rows = std::move(xs); },
             [&](caf::error& e) { err = std::move(e); });
  if (err)
    return err;
  for (auto& row : rows) {
    auto child = child_node(node, row);
    // A child supervisor that stops between its parent's answer and our
    // question (it gave up, or is being restarted) is shown as stopping,
    // without children: a race, not a failure to read the whole tree.
    if (row.type == "supervisor" && row.handle)
      if (fill(self, child, timeout)) {
        child.children.clear();
        child.state = "stopping";
      }
    node.children.push_back(std::move(child));
  }
  return caf::error{};
}

void draw(const tree_node& node, const std::string& prefix, bool last, bool top, std::string& out) {
  if (!top) {
    out += prefix;
    out += last ? "└── " : "├── ";
  }
  out += node.id;
  if (node.type == "supervisor" && !node.strategy.empty())
    out += " (" + node.strategy + ")";
  if (!top) {
    out += "  " + node.state;
    if (node.actor_id != 0)
      out += "  actor " + std::to_string(node.actor_id);
    out += "  restarts " + std::to_string(node.restarts);
    if (node.mailbox > 0)
      out += "  mailbox " + std::to_string(node.mailbox);
  }
  out += '\n';
  auto child_prefix = top ? std::string{} : prefix + (last ? "    " : "│   ");
  for (size_t i = 0; i < node.children.size(); ++i)
    draw(node.children[i], child_prefix, i + 1 == node.children.size(), false, out);
}

} // namespace

tree_node child_node(const tree_node& parent, const child_info& row) {
  tree_node child;
  child.id = row.id;
  child.path = parent.path + "/" + row.id;
  child.type = row.type;
  child.state = row.state;
  child.restart = row.restart;
  child.restarts = row.restarts;
  child.handle = row.handle;
  child.actor_id = row.handle ? row.handle.id() : 0;
  child.answers_mailbox = row.answers_mailbox;
  return child;
}

caf::expected<tree_node> collect_tree(caf::actor_system& sys, const caf::actor& sup,
                                      std::string id, std::string path,
                                      std::chrono::milliseconds timeout) {
  caf::scoped_actor self{sys};
  tree_node root;
  root.id = std::move(id);
  root.path = std::move(path);
  root.type = "supervisor";
  root.state = "running";
  root.handle = sup;
  root.actor_id = sup ? sup.id() : 0;
  if (auto err = fill(self, root, timeout))
    return err;
  return root;
}

std::string draw_tree(const tree_node& root) {
  std::string out;
  draw(root, "", true, true, out);
  return out;
}

const tree_node* find_node(const tree_node& root, const std::string& relative_path) {
  const tree_node* cur = &root;
  size_t pos = 0;
  while (pos < relative_path.size()) {
    auto next = relative_path.find('/', pos);
    auto part = relative_path.substr(pos, next == std::string::npos ? std::string::npos : next - pos);
    pos = next == std::string::npos ? relative_path.size() : next + 1;
    if (part.empty())
      continue;
    const tree_node* found = nullptr;
    for (auto& c : cur->children)
      if (c.id == part)
        found = &c;
    if (!found)
      return nullptr;
    cur = found;
  }
  return cur;
}

} // namespace cafmcp::supervision
