// The replicator actor: translates CAF messages (the session manager's API, replicator to replicator, timers) into the replication steps.
#include "cluster/replicator.hpp"

#include "actors/errors.hpp"
#include "actors/core_sup.hpp"
#include "actors/session_manager.hpp"
#include "base/log.hpp"
#include "cluster/detail/replicator_state.hpp"
#include "cluster/errors.hpp"
#include "cluster/rebalance_plan.hpp"
#include "supervision/worker.hpp"

namespace cafmcp::cluster {

namespace {

using namespace detail;

session_op make_op(uint8_t kind, std::string id, uint8_t level) {
  session_op op;
  op.kind = kind;
  op.id = std::move(id);
  op.level = level;
  return op;
}

session_op create_op(std::string id, int64_t ttl_ms, uint8_t level) {
  auto op = make_op(session_op::create, std::move(id), level);
  op.ttl_ms = ttl_ms;
  return op;
}

session_op put_op(std::string id, std::string key, std::string value, uint8_t level) {
  auto op = make_op(session_op::put, std::move(id), level);
  op.key = std::move(key);
  op.value = std::move(value);
  return op;
}

/// The operation for one of the API messages tools send traced (create,
/// get, put); none for other messages, which are served untraced.
std::optional<session_op> api_op(caf::message& m, uint8_t level) {
  if (m.match_elements<actors::session_create_atom, int64_t>())
    return create_op(actors::make_session_id(), m.get_as<int64_t>(1), level);
  if (m.match_elements<actors::session_get_atom, std::string>())
    return make_op(session_op::get, m.get_as<std::string>(1), level);
  bool with_level = m.match_elements<actors::session_put_atom, std::string, std::string, std::string, std::string>();
  if (!with_level && !m.match_elements<actors::session_put_atom, std::string, std::string, std::string>())
    return std::nullopt;
  if (with_level) {
    consistency c;
    if (!parse_consistency(m.get_as<std::string>(4), c))
      return std::nullopt; // the plain handler names the error
    level = static_cast<uint8_t>(c);
  }
  return put_op(m.get_as<std::string>(1), m.get_as<std::string>(2), m.get_as<std::string>(3), level);
}

/// Whether the current message comes from this node or a member that
/// proved itself (operators' tools reach us only through the node actor,
/// which checks their role and asks on their behalf).
bool trusted(repl_actor* self) {
  auto sender = self->current_sender();
  return sender && self->state.view->trusted(sender->node());
}

/// Answers with `answer()` once the disk's records are in the store: before
/// that an empty store would tell a peer "I hold nothing" (after a restart).
template <class F>
caf::result<std::vector<record_delta>> after_load(repl_actor* self, F answer) {
  if (self->state.loaded)
    return answer();
  auto rp = self->make_response_promise<std::vector<record_delta>>();
  self->state.after_load.push_back([rp, answer]() mutable { rp.deliver(answer()); });
  return rp;
}

caf::error untrusted_error() {
  return make_error(errc::not_authenticated, "the replicator takes messages from members only");
}

/// A replica takes copies from another member: a primary's write, placement, a drain, a backup or a restore.
caf::result<caf::ok_atom> apply_copies(repl_actor* self, std::vector<record_delta>& ds, bool primary_write,
                                   bool restored) {
  if (!trusted(self))
    return untrusted_error();
  auto& st = self->state;
  if (auto why = st.view->fenced())
    return make_error(errc::fenced, *why);
  if (st.cfg.durable == durability::fsync && !st.disk_error.empty())
    return make_error(errc::disk_failed, st.me + " cannot persist copies: " + st.disk_error);
  auto from = member_on(self, self->current_sender()->node());
  size_t refused = 0;
  std::string taken_over; // a record another member pulled from here to lead it
  for (auto& d : ds) {
    refused += absorb(self, d, restored) ? 0 : 1;
    if (!primary_write || !taken_over.empty())
      continue;
    if (auto holder = claimed_by(self, d.id); holder && *holder != from)
      taken_over = d.id + " is led by " + *holder + " now";
  }
  if (refused > 0)
    return make_error(errc::clock_drift, std::to_string(refused) + " record(s) stamped more than "
                                           + std::to_string(st.cfg.max_clock_drift_ms)
                                           + " ms ahead of " + st.hlc.node() + "'s clock");
  // A primary's write to a record another member has pulled from here
  // to lead it: kept, but not acknowledged. The claimant did not pull
  // it, so the acknowledgement would count a write its reads may miss.
  // (Copies sent for placement, a drain or a backup are acknowledged:
  // they count no client's write.)
  if (!taken_over.empty())
    return make_error(errc::placement_moving, st.me + " does not acknowledge a copy from " + from + ": "
                                                + taken_over + " (it read the record from " + st.me
                                                + " to serve it); retry");
  // A backup holds the copy once it is on disk (durability fsync).
  auto rp = self->make_response_promise<caf::ok_atom>();
  when_durable(self, [self, rp](const std::string& err) mutable {
    if (err.empty())
      rp.deliver(caf::ok_atom::value);
    else
      rp.deliver(make_error(errc::disk_failed, self->state.me + " cannot persist copies: " + err));
  });
  return rp;
}

caf::behavior replicator_actor(repl_actor* self, replication_config cfg, std::string me,
                               std::shared_ptr<cluster_view> view, std::shared_ptr<actors::name_table> names,
                               std::string path) {
  auto& st = self->state;
  st.cfg = cfg;
  st.layout.factor = cfg.factor;
  st.me = me;
  st.view = std::move(view);
  st.unfenced_seen = st.view->unfenced_count(); // a restart catches up from its peers anyway
  st.names = std::move(names);
  st.path = std::move(path);
  st.hlc = hlc_clock{me, cfg.clock_offset_ms};
  // A stray error reply (a late answer to a request we gave up on) must not
  // end this actor (CAF's default error handler would).
  self->set_error_handler([](caf::error&) {});
  st.disk = persistence_batch{cfg.snapshot_interval, detail::clock::now()};
  self->send(self, repl_tick_atom::value);
  if (cfg.sweep)
    self->delayed_send(self, cfg.sweep_interval, repl_sweep_atom::value);
  load_from_disk(self);
  // On an orderly stop the store goes to a snapshot first.
  self->set_exit_handler([self](caf::exit_msg& m) {
    snapshot(self, true);
    self->quit(m.reason);
  });
  auto level = static_cast<uint8_t>(cfg.level);
  auto local = [self](session_op op) {
    // The node's own HTTP threads send session writes without a sender
    // (anon_send), so the session API takes those too; the replication
    // messages below insist on a member.
    auto ok = !self->current_sender() || trusted(self); // (read before the promise takes the sender)
    auto rp = self->make_response_promise();
    if (!ok)
      return rp.deliver(untrusted_error());
    serve(self, std::move(op), std::move(rp));
  };
  return {
    // -- the session manager's API --
    // A traced call (trace::wrap) from a tool: served under its context, so
    // a hop to the primary joins the request's trace.
    [=](trace::traced_atom, trace::context& ctx, caf::message& inner) {
      if (auto op = api_op(inner, level)) {
        op->trace = std::move(ctx);
        return local(std::move(*op));
      }
      self->delegate(caf::actor_cast<caf::actor>(self), std::move(inner));
    },
    [=](actors::session_create_atom, int64_t ttl_ms) { local(create_op(actors::make_session_id(), ttl_ms, level)); },
    [=](actors::session_create_atom, int64_t ttl_ms, std::string& id) { local(create_op(std::move(id), ttl_ms, level)); },
    [=](actors::session_create_atom, int64_t ttl_ms, std::string& id, std::string& info) {
      auto op = create_op(std::move(id), ttl_ms, level);
      op.info = std::move(info);
      local(std::move(op));
    },
    [=](actors::session_info_atom, std::string& id, std::string& info) {
      auto op = make_op(session_op::set_info, std::move(id), level);
      op.info = std::move(info);
      local(std::move(op));
    },
    [=](actors::session_get_atom, std::string& id) { local(make_op(session_op::get, std::move(id), level)); },
    [=](actors::session_touch_atom, std::string& id) { local(make_op(session_op::touch, std::move(id), level)); },
    [=](actors::session_delete_atom, std::string& id) { local(make_op(session_op::remove, std::move(id), level)); },
    [=](actors::session_put_atom, std::string& id, std::string& key, std::string& value) {
      local(put_op(std::move(id), std::move(key), std::move(value), level));
    },
    [=](actors::session_put_atom, std::string& id, std::string& key, std::string& value,
        const std::string& consistency_name) -> caf::result<void> {
      consistency c;
      if (!parse_consistency(consistency_name, c))
        return actors::make_error(actors::errc::invalid_argument,
                                  "consistency must be local, one, majority or all, not \"" + consistency_name + "\"");
      local(put_op(std::move(id), std::move(key), std::move(value), static_cast<uint8_t>(c)));
      return caf::unit;
    },
    [self](actors::session_list_atom) {
      // The records this node is primary for: across all members, each once.
      std::vector<actors::session_record> out;
      for (auto& id : self->state.store.ids()) {
        auto p = placement(self, id);
        if (self->state.store.live(id) && !p.empty() && p.front() == self->state.me) {
          out.push_back(self->state.store.to_session(id));
          out.back().replicas = p;
        }
      }
      return out;
    },
    // -- between replicators --
    [self](repl_route_atom, session_op& op) {
      // Answered in the API's terms for op.kind; the forwarding node
      // relays that answer.
      if (!trusted(self))
        return self->make_response_promise().deliver(untrusted_error());
      if (!op.trace.valid() || !trace::enabled())
        return serve(self, std::move(op), self->make_response_promise());
      // Traced: the span lasts until the answer, however long serving takes
      // (a majority write waits for acks), so serve through ourselves.
      auto hop = std::make_shared<trace::span>(
        trace::start_span("cluster.serve", trace::span_kind::server, op.trace));
      hop->set("cafmcp.node", self->state.me);
      hop->set("cafmcp.record", op.id);
      op.trace = hop->ctx();
      auto rp = self->make_response_promise();
      self->request(caf::actor_cast<caf::actor>(self), self->state.cfg.write_timeout + milliseconds{1000},
                    repl_local_atom::value, std::move(op))
        .then(
          [rp, hop](actors::session_record& rec) mutable {
            hop->end();
            rp.deliver(std::move(rec));
          },
          [self, rp, hop](caf::error& err) mutable {
            hop->fail(self->system().render(err));
            hop->end();
            rp.deliver(std::move(err));
          });
    },
    [self](repl_local_atom, session_op& op) { serve(self, std::move(op), self->make_response_promise()); },
    [self](repl_apply_atom, std::vector<record_delta>& ds, bool primary_write) {
      return apply_copies(self, ds, primary_write, false);
    },
    [self](repl_apply_atom, std::vector<record_delta>& ds, bool primary_write, bool restored) {
      return apply_copies(self, ds, primary_write, restored);
    },
    [self](repl_pull_atom, std::vector<std::string>& ids) -> caf::result<std::vector<record_delta>> {
      if (!trusted(self))
        return untrusted_error();
      // Only a primary pulls (read repair): it leads these records in its
      // view, whatever this node's view says yet (primacy_claims).
      auto from = member_on(self, self->current_sender()->node());
      auto answer = [self, ids, from] {
        auto& st = self->state;
        std::vector<record_delta> out;
        auto m = st.members.find(from);
        for (auto& id : ids) {
          if (m != st.members.end())
            st.claims.claim(id, from, m->second.incarnation, detail::clock::now() + st.cfg.write_timeout);
          if (st.store.find(id))
            out.push_back(st.store.full(id));
        }
        return out;
      };
      return after_load(self, std::move(answer));
    },
    [self](repl_status_atom) -> caf::result<replication_status> {
      if (!trusted(self))
        return untrusted_error();
      return status_of(self);
    },
    [=](repl_migrate_atom, std::string& id, std::string& to) {
      auto op = make_op(session_op::migrate, std::move(id), level);
      op.value = std::move(to);
      local(std::move(op));
    },
    [=](repl_backup_atom, std::string& id) { local(make_op(session_op::backup, std::move(id), level)); },
    // -- backups and restores (replicator_backup.cpp) --
    [self](repl_clock_atom) -> caf::result<hlc_stamp> {
      if (!trusted(self))
        return untrusted_error();
      return self->state.hlc.peek();
    },
    [self](repl_cut_atom, std::string& id, const hlc_stamp& at, const std::string&) -> caf::result<caf::ok_atom> {
      if (!trusted(self))
        return untrusted_error();
      return begin_cut(self, std::move(id), at);
    },
    [self](repl_cut_list_atom, const std::string& id) -> caf::result<cut_part> {
      if (!trusted(self))
        return untrusted_error();
      return list_cut(self, id);
    },
    [self](repl_cut_page_atom, const std::string& id, uint64_t from,
           uint32_t max) -> caf::result<std::vector<record_delta>> {
      if (!trusted(self))
        return untrusted_error();
      return cut_page(self, id, from, max);
    },
    [self](repl_cut_end_atom, const std::string& id) -> caf::result<cut_part> {
      if (!trusted(self))
        return untrusted_error();
      return end_cut(self, id);
    },
    [self](repl_restore_atom, const std::string&) -> caf::result<std::vector<std::string>> {
      if (!trusted(self))
        return untrusted_error();
      return prepare_restore(self);
    },
    [self](repl_restore_batch_atom, std::vector<record_delta>& ds, bool overwrite) -> caf::result<uint64_t> {
      if (!trusted(self))
        return untrusted_error();
      return restore_batch(self, std::move(ds), overwrite);
    },
    [self](repl_sync_atom, const std::string& member,
           const record_digest& have) -> caf::result<std::vector<record_delta>> {
      if (!trusted(self))
        return untrusted_error();
      auto answer = [self, member, have] {
        auto& st = self->state;
        std::vector<record_delta> out;
        for (auto& id : records_to_send(st.store, member, have, st.layout))
          out.push_back(st.store.full(id));
        return out;
      };
      return after_load(self, std::move(answer));
    },
    [self](repl_drain_atom, const std::string& from, const std::string& to, bool all) -> caf::result<caf::ok_atom> {
      if (!trusted(self))
        return untrusted_error();
      return drain(self, from, to, all);
    },
    [self](repl_handoff_atom) -> caf::result<uint64_t> {
      if (!trusted(self))
        return untrusted_error();
      return handoff(self);
    },
    // -- timers --
    [self](repl_tick_atom) {
      read_members(self);
      expire_forwards(self);
      self->state.claims.expire(detail::clock::now());
      expire_cut(self);
      flush_wal(self);
      if (self->state.snapshots && self->state.disk.snapshot_due(detail::clock::now()))
        snapshot(self);
      self->delayed_send(self, self->state.cfg.tick, repl_tick_atom::value);
    },
    [self](repl_flush_atom) { flush_wal(self); },
    [self](repl_sweep_atom) {
      // A large store is swept a slice at a time, with requests served in between.
      auto more = sweep(self);
      self->delayed_send(self, more ? sweep_gap : self->state.cfg.sweep_interval, repl_sweep_atom::value);
    },
  };
}

} // namespace

supervision::child_spec replicator_spec(replication_config cfg, std::string node_name,
                                        std::shared_ptr<cluster_view> view,
                                        std::shared_ptr<actors::name_table> names) {
  return actors::registered(supervision::worker_child("replicator", replicator_actor, cfg, node_name, view, names),
                            names);
}

} // namespace cafmcp::cluster
