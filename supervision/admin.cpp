// The admin actor: a node's supervision tree, operable by path, every change audited before it is made.
#include "supervision/admin.hpp"

#include <memory>

#include <caf/all.hpp>

#include "base/audit_log.hpp"
#include "supervision/errors.hpp"
#include "base/log.hpp"
#include "supervision/messages.hpp"
#include "supervision/tree.hpp"

namespace cafmcp::supervision {

namespace {

struct admin_state {
  admin_config cfg;
  caf::actor audit;
  std::string path;
};

using admin_actor = caf::stateful_actor<admin_state>;
using node_fn = std::function<void(caf::expected<tree_node>)>;

// Starting or stopping a child may wait for its shutdown timeout.
constexpr std::chrono::milliseconds change_timeout{60000};

std::vector<std::string> split(const std::string& path) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < path.size()) {
    auto next = path.find('/', pos);
    if (next == std::string::npos)
      next = path.size();
    if (next > pos)
      out.push_back(path.substr(pos, next - pos));
    pos = next + 1;
  }
  return out;
}

/// A request error in words: a timeout names the supervisor that did not answer.
caf::error describe(caf::error e, const std::string& path, std::chrono::milliseconds waited) {
  if (e == caf::sec::request_timeout)
    return make_error(errc::not_found, "no answer from " + path + " within " + std::to_string(waited.count()) + " ms");
  if (e == caf::sec::request_receiver_down)
    return make_error(errc::not_found, path + " stopped while we asked it");
  return e;
}

/// Walks from `cur` down the remaining components `rest[i..]`.
void step(admin_actor* self, tree_node cur, std::vector<std::string> rest, size_t i, node_fn k) {
  if (i == rest.size())
    return k(std::move(cur));
  if (cur.type != "supervisor")
    return k(make_error(errc::not_found, cur.path + " is a worker: it has no children"));
  if (!cur.handle)
    return k(make_error(errc::not_found, cur.path + " is not running (" + cur.state + ")"));
  auto h = cur.handle;
  self->request(h, self->state.cfg.timeout, which_children_atom::value)
    .then(
      [self, cur, rest, i, k](std::vector<child_info>& rows) {
        for (auto& r : rows)
          if (r.id == rest[i])
            return step(self, child_node(cur, r), rest, i + 1, k);
        std::string ids;
        for (auto& r : rows)
          ids += (ids.empty() ? "" : ", ") + r.id;
        k(make_error(errc::not_found, "no child " + rest[i] + " under " + cur.path
                                        + (rows.empty() ? " (it has no children)" : "; its children: " + ids)));
      },
      [self, cur, k](caf::error& e) { k(describe(std::move(e), cur.path, self->state.cfg.timeout)); });
}

/// Finds the node at `path` (absolute, under the root supervisor).
void resolve(admin_actor* self, const std::string& path, node_fn k) {
  auto& cfg = self->state.cfg;
  auto root = cfg.root ? cfg.root() : caf::actor{};
  if (!root)
    return k(make_error(errc::not_found, "the root supervisor " + cfg.root_path + " is not running"));
  auto p = path;
  while (p.size() > 1 && p.back() == '/')
    p.pop_back();
  if (p != cfg.root_path && p.rfind(cfg.root_path + "/", 0) != 0)
    return k(make_error(errc::not_found, "a path starts with " + cfg.root_path + ", got \"" + path + "\""));
  tree_node top;
  auto parts = split(cfg.root_path);
  top.id = parts.empty() ? cfg.root_path : parts.back();
  top.path = cfg.root_path;
  top.type = "supervisor";
  top.state = "running";
  top.handle = root;
  top.actor_id = root.id();
  top.answers_mailbox = true;
  step(self, std::move(top), split(p.substr(cfg.root_path.size())), 0, std::move(k));
}

/// Resolves `path` and insists on a running supervisor.
void resolve_supervisor(admin_actor* self, const std::string& path, node_fn k) {
  resolve(self, path, [k](caf::expected<tree_node> n) {
    if (n && n->type != "supervisor")
      return k(make_error(errc::bad_spec, n->path + " is a worker, not a supervisor"));
    if (n && !n->handle)
      return k(make_error(errc::not_found, n->path + " is not running (" + n->state + ")"));
    k(std::move(n));
  });
}

// -- collecting a subtree ------------------------------------------------------

struct walk {
  tree_node top;
  size_t pending = 0;
  int max_depth = 0; // levels below the top to fill (< 0: all)
  std::function<void(tree_node)> k;
};

void finish_one(const std::shared_ptr<walk>& w) {
  if (--w->pending == 0)
    w->k(std::move(w->top));
}

/// Asks `node` for its mailbox size (if it answers that), then calls `k`.
void measure(admin_actor* self, const std::shared_ptr<walk>& w, tree_node* node) {
  if (!node->answers_mailbox)
    return finish_one(w);
  self->request(node->handle, self->state.cfg.timeout, mailbox_atom::value)
    .then([w, node](uint64_t n) { node->mailbox = static_cast<int64_t>(n); finish_one(w); },
          [w](caf::error&) { finish_one(w); });
}

/// Fills `node`'s children and measures its mailbox. A supervisor is
/// measured last, so our own questions are not counted in its mailbox. A
/// child vector is filled at once before its elements are visited, so the
/// pointers stay valid.
void visit(admin_actor* self, const std::shared_ptr<walk>& w, tree_node* node, int depth) {
  if (!node->handle)
    return;
  ++w->pending;
  if (node->type != "supervisor")
    return measure(self, w, node);
  auto t = self->state.cfg.timeout;
  auto h = node->handle;
  self->request(h, t, info_atom::value)
    .then(
      [self, w, node, depth, t](supervisor_info& info) {
        node->strategy = info.strategy;
        if (w->max_depth >= 0 && depth >= w->max_depth)
          return measure(self, w, node);
        self->request(node->handle, t, which_children_atom::value)
          .then(
            [self, w, node, depth](std::vector<child_info>& rows) {
              for (auto& r : rows)
                node->children.push_back(child_node(*node, r));
              for (auto& c : node->children)
                visit(self, w, &c, depth + 1);
              measure(self, w, node);
            },
            [w, node](caf::error&) {
              node->state = "no answer";
              finish_one(w);
            });
      },
      [w, node](caf::error&) {
        node->state = "no answer";
        finish_one(w);
      });
}

void collect(admin_actor* self, tree_node top, int max_depth, std::function<void(tree_node)> k) {
  auto w = std::make_shared<walk>();
  w->top = std::move(top);
  w->max_depth = max_depth;
  w->k = std::move(k);
  w->pending = 1;
  visit(self, w, &w->top, 0);
  finish_one(w);
}

// -- audited operations ----------------------------------------------------------

// The writer syncs each record: seconds only when the disk is in trouble.
constexpr std::chrono::seconds audit_timeout{10};

/// Why the writer could not append a record, in words that name the file.
std::string audit_failure(admin_actor* self, const caf::error& e) {
  if (e.context().match_elements<std::string>())
    return e.context().get_as<std::string>(0); // the writer's own: file, step, errno text
  return "the audit log " + self->state.cfg.audit_log + " cannot be written: " + self->system().render(e);
}

/// Appends `rec` durably, then calls `k` with none or the failure in words.
void record(admin_actor* self, audit::audit_record rec, std::function<void(std::string)> k) {
  self->request(self->state.audit, audit_timeout, audit::audit_record_atom::value, std::move(rec))
    .then([k] { k({}); }, [self, k](caf::error& e) { k(audit_failure(self, e)); });
}

/// Audit before action: `act` runs only once the intent record
/// {who, op, target, "requested"} is on disk. If it cannot be written, the
/// change is refused and `act` never runs: an unaudited change is worse than
/// a refused one.
void intent_then(admin_actor* self, caf::response_promise rp, audit::audit_record rec, std::function<void()> act) {
  auto intent = rec;
  intent.result = "requested";
  record(self, std::move(intent), [self, rp, rec, act](std::string failed) mutable {
    if (failed.empty())
      return act();
    auto why = failed + "; refusing " + rec.op;
    log::error(self->state.path, rec.op + " " + rec.target + " by " + rec.who + ": " + why);
    rp.deliver(make_error(errc::audit_failed, why));
  });
}

/// Appends the outcome record, then answers. The action is done by now: an
/// outcome that cannot be written is logged (by the writer), the answer stays
/// the action's result, and the intent record shows the attempt.
void audited(admin_actor* self, caf::response_promise rp, audit::audit_record rec, caf::expected<caf::message> result) {
  rec.result = result ? "ok" : self->system().render(result.error());
  log::info(self->state.path, rec.op + " " + rec.target + " by " + rec.who + ": " + rec.result);
  auto answer = [rp, result]() mutable {
    if (result && result->empty())
      rp.deliver(caf::unit);
    else if (result)
      rp.deliver(std::move(*result));
    else
      rp.deliver(result.error());
  };
  record(self, rec, [answer](const std::string&) mutable { answer(); });
}

uint64_t id_of(const caf::actor& h) {
  return h ? h.id() : 0;
}

caf::behavior admin_actor_fun(admin_actor* self, admin_config cfg, caf::actor audit, std::string path) {
  self->state.cfg = std::move(cfg);
  self->state.audit = audit;
  self->state.path = std::move(path);
  self->link_to(audit); // the writer lives and dies with us
  // The supervisor API's answer to a change: the child's handle.
  // start and restart answer the child's actor id; terminate and delete nothing.
  auto change = [self](caf::response_promise rp, audit::audit_record rec, const std::string& sup, caf::message msg,
                       bool answers_id) {
    intent_then(self, rp, rec, [self, rp, rec, sup, msg, answers_id] {
      resolve_supervisor(self, sup, [self, rp, rec, msg, sup, answers_id](caf::expected<tree_node> n) mutable {
        if (!n)
          return audited(self, rp, rec, n.error());
        self->request(n->handle, change_timeout, msg)
          .then(
            [self, rp, rec, answers_id](caf::actor& h) {
              audited(self, rp, rec, answers_id ? caf::make_message(id_of(h)) : caf::message{});
            },
            [self, rp, rec, sup](caf::error& e) { audited(self, rp, rec, describe(e, sup, change_timeout)); });
      });
    });
  };
  return {
    [self](admin_tree_atom, const std::string& path) {
      auto rp = self->make_response_promise();
      resolve(self, path, [self, rp](caf::expected<tree_node> n) mutable {
        if (!n)
          return rp.deliver(n.error());
        collect(self, std::move(*n), -1, [rp](tree_node t) mutable { rp.deliver(std::move(t)); });
      });
      return rp;
    },
    [self](admin_which_atom, const std::string& path) {
      auto rp = self->make_response_promise();
      resolve_supervisor(self, path, [self, rp](caf::expected<tree_node> n) mutable {
        if (!n)
          return rp.deliver(n.error());
        collect(self, std::move(*n), 1, [rp](tree_node t) mutable { rp.deliver(std::move(t.children)); });
      });
      return rp;
    },
    [self](admin_count_atom, const std::string& path) {
      auto rp = self->make_response_promise();
      resolve_supervisor(self, path, [self, rp, path](caf::expected<tree_node> n) mutable {
        if (!n)
          return rp.deliver(n.error());
        self->request(n->handle, self->state.cfg.timeout, count_children_atom::value)
          .then([rp](child_counts& c) mutable { rp.deliver(c); },
                [self, rp, path](caf::error& e) mutable { rp.deliver(describe(e, path, self->state.cfg.timeout)); });
      });
      return rp;
    },
    [self, change](admin_start_atom, const std::string& who, const std::string& path,
                   const child_spec_desc& desc) {
      auto rp = self->make_response_promise();
      change(rp, {who, "start_child", path + " " + desc.id + " (" + desc.actor_type + ")", ""}, path,
             caf::make_message(start_child_atom::value, desc), true);
      return rp;
    },
    [self, change](admin_restart_atom, const std::string& who, const std::string& path, const std::string& id) {
      auto rp = self->make_response_promise();
      change(rp, {who, "restart_child", path + " " + id, ""}, path,
             caf::make_message(restart_child_atom::value, id), true);
      return rp;
    },
    [self, change](admin_terminate_atom, const std::string& who, const std::string& path, const std::string& id) {
      auto rp = self->make_response_promise();
      change(rp, {who, "terminate_child", path + " " + id, ""}, path,
             caf::make_message(terminate_child_atom::value, id), false);
      return rp;
    },
    [self, change](admin_delete_atom, const std::string& who, const std::string& path, const std::string& id) {
      auto rp = self->make_response_promise();
      change(rp, {who, "delete_child", path + " " + id, ""}, path,
             caf::make_message(delete_child_atom::value, id), false);
      return rp;
    },
    [self](admin_kill_atom, const std::string& who, const std::string& path) {
      auto rp = self->make_response_promise();
      audit::audit_record rec{who, "kill", path, ""};
      intent_then(self, rp, rec, [self, rp, rec] {
        resolve(self, rec.target, [self, rp, rec](caf::expected<tree_node> n) mutable {
          if (!n)
            return audited(self, rp, rec, n.error());
          if (n->path == self->state.cfg.root_path)
            return audited(self, rp, rec,
                           make_error(errc::bad_spec,
                                      "refusing to kill " + n->path + ": that stops the node (send it SIGTERM)"));
          if (!n->handle)
            return audited(self, rp, rec, make_error(errc::not_found, n->path + " is not running (" + n->state + ")"));
          if (n->handle.address() == self->address())
            return audited(self, rp, rec,
                           make_error(errc::bad_spec,
                                      "refusing to kill " + n->path + " from itself: it could not answer"));
          auto aid = n->handle.id();
          self->send_exit(n->handle, caf::exit_reason::kill);
          audited(self, rp, rec, caf::make_message(aid));
        });
      });
      return rp;
    },
    [self](admin_record_atom, const audit::audit_record& rec) {
      auto rp = self->make_response_promise();
      record(self, rec, [rp](const std::string& failed) mutable {
        if (failed.empty())
          rp.deliver(caf::unit);
        else
          rp.deliver(make_error(errc::audit_failed, failed));
      });
      return rp;
    },
    [self](admin_audit_atom, uint32_t n) {
      return self->delegate(self->state.audit, audit::audit_tail_atom::value, n);
    },
  };
}

} // namespace

child_spec admin_child(admin_config cfg) {
  child_spec spec;
  spec.id = "admin";
  spec.answers_mailbox = false;
  spec.start = [cfg](const start_context& ctx) -> caf::expected<caf::actor> {
    auto log = audit::spawn_audit_log(ctx.system, cfg.audit_log, cfg.audit_key);
    if (!log)
      return log.error();
    return ctx.system.spawn(admin_actor_fun, cfg, *log, ctx.path);
  };
  return spec;
}

} // namespace cafmcp::supervision
