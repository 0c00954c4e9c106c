// The replicator's write path: serving an operation at its primary (quorum writes, read repair, migrate, backup) or forwarding it.
#include "cluster/detail/replicator_state.hpp"

#include "actors/errors.hpp"
#include "base/log.hpp"
#include "cluster/errors.hpp"
#include "cluster/rebalance_plan.hpp"
#include "cluster/ttl_sweep.hpp"

namespace cafmcp::cluster::detail {

int64_t wall_ms() {
  return std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

namespace {

/// Answers in the shape the session manager's API promises; a forwarded
/// operation (hops > 0) always gets the record, which the forwarding node
/// turns into that shape.
/// Whether the API answers `kind` with the record (else with ok).
bool answers_record(uint8_t kind) {
  switch (kind) {
    case session_op::put:
    case session_op::touch:
    case session_op::remove:
    case session_op::set_info:
      return false;
    default:
      return true;
  }
}

void answer(caf::response_promise& rp, const session_op& op, actors::session_record rec) {
  if (op.hops > 0)
    return rp.deliver(std::move(rec));
  if (answers_record(op.kind))
    rp.deliver(std::move(rec));
  else
    rp.deliver(caf::ok_atom::value);
}

/// Merges `d` into the store; a change is logged for the WAL.
void merge(repl_actor* self, const record_delta& d) {
  if (self->state.store.merge(d))
    self->state.disk.changed(d);
}

void finish_write(repl_actor* self, uint64_t number) {
  auto& st = self->state;
  auto i = st.writes.find(number);
  if (i == st.writes.end())
    return;
  auto& w = i->second;
  switch (w.quorum.decide(clock::now())) {
    case write_quorum::outcome::pending:
      return;
    case write_quorum::outcome::acknowledged:
      if (!w.durable)
        return; // the backups have it; this node's own copy is not on disk yet
      if (w.rp)
        answer(*w.rp, w.op, std::move(w.result));
      break;
    case write_quorum::outcome::failed:
      if (w.rp)
        w.rp->deliver(make_error(errc::no_quorum, std::string{"write "} + to_string(static_cast<consistency>(w.op.level))
                                                 + ": acknowledged by " + std::to_string(w.quorum.acks() + 1) + " of "
                                                 + std::to_string(w.quorum.needed_total()) + " replicas needed within "
                                                 + std::to_string(st.cfg.write_timeout.count()) + " ms"));
      break;
  }
  st.writes.erase(i);
}

/// Asks `peers` for acks of write `number` (each once). All are counted as
/// asked before any is sent, so one that fails at once does not fail the
/// write while the others have not been asked yet.
void ask_backups(repl_actor* self, uint64_t number, const std::vector<std::string>& peers) {
  auto i = self->state.writes.find(number);
  if (i == self->state.writes.end())
    return;
  auto deadline = clock::now() + self->state.cfg.write_timeout;
  std::vector<std::string> asked;
  for (auto& peer : peers)
    if (i->second.quorum.ask(peer, deadline))
      asked.push_back(peer);
  auto delta = i->second.delta;
  for (auto& peer : asked)
    send_apply(self, peer, {delta}, [self, number, peer](bool ok) {
      auto i = self->state.writes.find(number);
      if (i == self->state.writes.end())
        return; // answered already
      i->second.quorum.answer(peer, ok);
      finish_write(self, number);
    }, true);
}

// -- read repair -------------------------------------------------------------------

/// One repair's pulls: how many peers are still due, until when a failing
/// peer is retried, and a peer that never answered.
struct repair_round {
  size_t left = 0;
  clock::time_point deadline;
  std::string failed; // a reachable member that did not answer in time
};

void finish_repair(repl_actor* self, const std::string& id, const std::string& failed) {
  auto& st = self->state;
  auto ops = std::move(st.repairing[id]);
  st.repairing.erase(id);
  // An up member cut off from here may hold what was acknowledged (this
  // node may be the one cut off, not yet fenced): retry rather than guess,
  // as for a peer that did not answer.
  std::string cut_off;
  bool held = st.store.find(id) != nullptr;
  if (failed.empty()) {
    std::vector<std::string> known;
    for (auto& [name, m] : st.members)
      known.push_back(name);
    cut_off = repair_blocker(id, held, st.me, known, st.layout);
  }
  if (failed.empty() && cut_off.empty()) {
    st.needs_repair.erase(id);
    for (auto& q : ops)
      serve(self, std::move(q.op), std::move(q.rp), true);
    return;
  }
  if (!cut_off.empty()) {
    if (held)
      st.needs_repair.insert(id); // still to be read from its replicas
    for (auto& q : ops)
      q.rp.deliver(make_error(errc::unreachable, held ? st.me + " cannot tell its copy of " + id + " is current: "
                                                          + cut_off + " holds it too and is cut off from here; retry"
                                                    : st.me + " does not hold " + id + " and cannot reach " + cut_off
                                                          + ", which may; retry"));
    return;
  }
  // Not served: `failed` may hold the only copy of an acknowledged write.
  // The record stays marked, so the tick pulls it again.
  st.needs_repair.insert(id);
  for (auto& q : ops)
    q.rp.deliver(make_error(errc::unreachable, "could not read " + id + " from " + failed + " before serving it; retry"));
}

void pull_for_repair(repl_actor* self, const std::string& id, const std::string& peer,
                     std::shared_ptr<repair_round> round, int attempt) {
  auto timeout = std::max(milliseconds{1}, std::chrono::duration_cast<milliseconds>(round->deadline - clock::now()));
  auto peer_done = [self, id, round] {
    if (--round->left == 0)
      finish_repair(self, id, round->failed);
  };
  self->request(node_of(self, peer), timeout, call_atom::value, peer, std::string{"replicator"},
                caf::make_message(repl_pull_atom::value, std::vector<std::string>{id}))
    .then(
      [self, peer_done](std::vector<record_delta>& ds) {
        for (auto& d : ds)
          absorb(self, d);
        peer_done();
      },
      [self, id, peer, round, attempt, peer_done](caf::error&) {
        auto& st = self->state;
        // A member that left the layout holds nothing we could lose: every
        // acknowledged write is on a reachable replica as well. One that is
        // still a member may hold the only copy of an acknowledged write
        // (the one backup that answered), so it is asked again, and failing
        // that the waiting ops fail rather than read around it.
        if (!is_member_of(st.layout.members, peer) || !node_of(self, peer))
          return peer_done();
        if (attempt + 1 < repair_attempts && clock::now() < round->deadline)
          return pull_for_repair(self, id, peer, round, attempt + 1);
        round->failed = peer;
        peer_done();
      });
}

} // namespace

/// Pulls `id` from every other reachable member, merges what comes back,
/// then serves the ops that waited for it (`first`; none when the tick
/// repairs in the background).
void repair(repl_actor* self, const std::string& id, std::optional<queued_op> first) {
  auto& st = self->state;
  bool under_way = st.repairing.count(id) > 0;
  auto& ops = st.repairing[id];
  if (first)
    ops.push_back(std::move(*first));
  if (under_way)
    return;
  std::vector<std::string> peers;
  for (auto& m : st.layout.members)
    if (m != st.me)
      peers.push_back(m);
  if (peers.empty())
    return finish_repair(self, id, {});
  auto round = std::make_shared<repair_round>();
  round->left = peers.size();
  round->deadline = clock::now() + st.cfg.write_timeout;
  for (auto& peer : peers)
    pull_for_repair(self, id, peer, round, 0);
}

void repair_in_background(repl_actor* self) {
  auto& st = self->state;
  std::vector<std::string> start;
  for (auto i = st.needs_repair.begin(); i != st.needs_repair.end();) {
    if (st.repairing.size() + start.size() >= background_repairs)
      break;
    auto replicas = placement(self, *i);
    if (replicas.empty() || replicas.front() != st.me) {
      // Led elsewhere now; becoming its primary again marks it again (rebalance).
      i = st.needs_repair.erase(i);
      continue;
    }
    if (!st.repairing.count(*i) && !claimed_by(self, *i)) // (claimed: not before the claim ends)
      start.push_back(*i);
    ++i;
  }
  for (auto& id : start)
    repair(self, id, std::nullopt);
}

namespace {

/// migrate_session, at the primary: the target gets the whole record first,
/// then the pin (written at the op's consistency to the old replicas and
/// the target), after which the target leads the record.
void migrate(repl_actor* self, session_op op, caf::response_promise rp, std::vector<std::string> replicas) {
  auto& st = self->state;
  auto to = op.value;
  if (!st.store.live(op.id))
    return rp.deliver(actors::make_error(actors::errc::not_found, op.id));
  if (!is_member_of(st.layout.members, to) || st.layout.drains.count(to))
    return rp.deliver(make_error(errc::unknown_node, to + " is not an up, reachable member that takes records"));
  if (to == st.me) {
    auto rec = st.store.to_session(op.id);
    rec.replicas = replicas;
    return rp.deliver(std::move(rec)); // leads it already
  }
  send_apply(self, to, {st.store.full(op.id)}, [self, op, rp, replicas, to](bool ok) mutable {
    if (!ok)
      return rp.deliver(make_error(errc::unreachable, to + " did not take the record"));
    if (!is_member_of(replicas, to))
      replicas.push_back(to);
    write(self, op, delta_of(self, op.id, {{field::pin, to}}), std::move(rp), replicas);
  });
}

/// backup_session, at the primary: every replica gets the whole record now
/// (the factor restored at once, e.g. before maintenance).
void backup(repl_actor* self, session_op op, caf::response_promise rp, std::vector<std::string> replicas) {
  auto& st = self->state;
  if (!st.store.live(op.id))
    return rp.deliver(actors::make_error(actors::errc::not_found, op.id));
  auto left = std::make_shared<size_t>(replicas.size() - 1);
  auto failed = std::make_shared<std::string>();
  auto done = [self, id = op.id, rp, replicas, failed]() mutable {
    if (!failed->empty())
      return rp.deliver(make_error(errc::no_quorum, "not backed up on " + *failed));
    auto rec = self->state.store.to_session(id);
    rec.replicas = replicas;
    rp.deliver(std::move(rec));
  };
  if (*left == 0)
    return done();
  for (size_t k = 1; k < replicas.size(); ++k)
    send_apply(self, replicas[k], {st.store.full(op.id)}, [left, failed, done, peer = replicas[k]](bool ok) mutable {
      if (!ok)
        *failed += (failed->empty() ? "" : ", ") + peer;
      if (--*left == 0)
        done();
    });
}

/// Serves an operation here, this node being the record's primary.
void serve_primary(repl_actor* self, session_op op, caf::response_promise rp,
                   const std::vector<std::string>& replicas, bool repaired) {
  auto& st = self->state;
  bool held = st.store.find(op.id) != nullptr;
  // A record this node only just leads, or does not hold, is pulled from the
  // other members first (once: a record nobody holds is not found).
  bool unsettled = clock::now() < st.unsettled_until;
  if (st.repairing.count(op.id)
      || (!repaired && op.kind != session_op::create && (st.needs_repair.count(op.id) || !held || unsettled))) {
    auto id = op.id; // (not op.id itself: the op is moved into the queue)
    return repair(self, id, queued_op{std::move(op), std::move(rp)});
  }
  // Not found anywhere while this (re)started node still waits for its
  // peers' catch-up answers: maybe not here yet, so "retry", not "unknown".
  if (!held && st.sync_pending > 0 && op.kind != session_op::create)
    return rp.deliver(make_error(errc::placement_moving, st.me + " is still catching up from its peers after a start and "
                                                           "does not hold " + op.id + " yet; retry"));
  auto now = std::to_string(wall_ms());
  switch (op.kind) {
    case session_op::create: {
      if (held)
        return rp.deliver(actors::make_error(actors::errc::invalid_argument, "session id " + op.id + " is taken"));
      auto ttl = op.ttl_ms > 0 ? op.ttl_ms : st.cfg.ttl.count();
      auto d = delta_of(self, op.id,
                        {{field::created, now}, {field::active, now}, {field::ttl, std::to_string(ttl)},
                         {field::info, op.info}});
      return write(self, op, std::move(d), std::move(rp), replicas);
    }
    case session_op::get: {
      if (!st.store.live(op.id))
        return rp.deliver(actors::make_error(actors::errc::not_found, op.id));
      auto rec = st.store.to_session(op.id);
      rec.replicas = replicas;
      if (wall_ms() - rec.last_active_ms >= renew_every.count()) {
        // Renewed without waiting: a read must not fail for want of backups.
        session_op renew = op;
        renew.level = static_cast<uint8_t>(consistency::local);
        write(self, renew, delta_of(self, op.id, {{field::active, now}}), std::nullopt, replicas);
      }
      return rp.deliver(std::move(rec));
    }
    case session_op::touch:
    case session_op::put:
    case session_op::set_info:
    case session_op::remove: {
      if (!st.store.live(op.id))
        return rp.deliver(actors::make_error(actors::errc::not_found, op.id));
      record_delta d;
      if (op.kind == session_op::put)
        d = delta_of(self, op.id, {{field::data(op.key), op.value}, {field::active, now}});
      else if (op.kind == session_op::set_info)
        d = delta_of(self, op.id, {{field::info, op.info}, {field::active, now}});
      else if (op.kind == session_op::touch)
        d = delta_of(self, op.id, {{field::active, now}});
      else
        d = delta_of(self, op.id, {{field::gone, "1"}});
      return write(self, op, std::move(d), std::move(rp), replicas);
    }
    case session_op::migrate:
      return migrate(self, std::move(op), std::move(rp), replicas);
    case session_op::backup:
      return backup(self, std::move(op), std::move(rp), replicas);
    default:
      return rp.deliver(actors::make_error(actors::errc::invalid_argument, "unknown session operation"));
  }
}

/// A member's incarnation as this node knows it (0: not an up member).
uint64_t incarnation_of(const repl_state& st, const std::string& name) {
  auto m = st.members.find(name);
  return m == st.members.end() ? 0 : m->second.incarnation;
}

/// Sends `op` to `primary`'s replicator, kept until answered (reroute).
void forward(repl_actor* self, session_op op, caf::response_promise rp, const std::string& primary) {
  auto& st = self->state;
  // A primary that stopped answering (paused, overloaded, its replicator
  // stuck) but is still in the view would cost every caller a timeout.
  if (auto v = peer_allows(self, primary); !v.allowed)
    return rp.deliver(make_error(
        errc::unreachable, "not forwarded to " + primary + ", the primary of " + op.id + ": its circuit opened after "
                             + std::to_string(v.failures) + " forwards in a row got no answer within "
                             + std::to_string((st.cfg.write_timeout + milliseconds{500}).count())
                             + " ms; the operation did not take effect; a trial goes in "
                             + std::to_string(v.retry_after.count()) + " ms"));
  forward_wait f{op, std::move(rp), {}};
  ++op.hops;
  op.origin = forward_origin{st.me, incarnation_of(st, st.me), incarnation_of(st, primary)};
  if (op.trace.valid() && trace::enabled()) {
    f.hop = trace::start_span("cluster.forward", trace::span_kind::client, op.trace);
    f.hop.set("cafmcp.peer", primary);
    f.hop.set("cafmcp.record", op.id);
    f.hop.set("cafmcp.hops", static_cast<int64_t>(op.hops));
    op.trace = f.hop.ctx(); // the primary's span is the hop's child
  }
  auto number = st.forwards.add(primary, std::move(f));
  self->request(node_of(self, primary), st.cfg.write_timeout + milliseconds{500}, call_atom::value, primary,
                std::string{"replicator"}, caf::make_message(repl_route_atom::value, op))
    .then(
      [self, number, primary](actors::session_record& rec) {
        record_peer(self, primary);
        if (auto f = self->state.forwards.take(number)) // (none: rerouted)
          answer(f->rp, f->op, std::move(rec));
      },
      [self, number, primary](caf::error& err) {
        record_peer(self, primary, err);
        // The primary's node went away mid-write (kill -9, a cut): not the
        // client's error. Served again by the next primary once this node's
        // view drops it (reroute), as if it had left before the send.
        if (err == caf::sec::request_receiver_down
            && self->state.forwards.park(number, clock::now() + self->state.cfg.write_timeout))
          return reroute(self);
        if (auto f = self->state.forwards.find(number);
            f && retry_refused_forward(is(err, errc::placement_moving), f->op.hops, f->op.waits)) {
          // Refused unapplied ("retry"): served again after the next read of the members.
          auto held = self->state.forwards.take(number);
          held->hop.fail(self->system().render(err));
          ++held->op.waits;
          self->state.waiting.push_back(queued_op{std::move(held->op), std::move(held->rp)});
          return;
        }
        if (auto f = self->state.forwards.take(number)) {
          f->hop.fail(self->system().render(err));
          f->rp.deliver(std::move(err));
        }
      });
}

} // namespace

bool absorb(repl_actor* self, const record_delta& d, bool restored, bool log_to_disk) {
  auto& st = self->state;
  for (auto& [k, v] : d.fields)
    if (st.hlc.too_far_ahead(v.ts, st.cfg.max_clock_drift_ms)) {
      // Checked before the clock observes anything: one bad stamp must not
      // drag this node's clock (and every later write) into the future.
      if (st.refused_clock_drift++ % 100 == 0)
        log::warning(st.path, "refused a copy of " + d.id + " from " + v.ts.node + ": stamped "
                                + std::to_string(v.ts.wall_ms) + " ms, more than "
                                + std::to_string(st.cfg.max_clock_drift_ms)
                                + " ms (cluster.replication.max_clock_drift_ms) ahead of this node's clock; "
                                + std::to_string(st.refused_clock_drift) + " refused so far");
      return false;
    }
  if (!restored && refuse_stale_copy(st.store, d, wall_ms(), st.cfg.tombstone_ttl)) {
    // Taken (nothing to retry), but not kept: see refuse_stale_copy.
    if (st.refused_stale++ % 100 == 0)
      log::info(st.path, "refused a copy of " + d.id + ": not held here and not written for more than "
                           + std::to_string(st.cfg.tombstone_ttl.count())
                           + " ms (cluster.replication.tombstone_ttl_ms), so it may have been deleted meanwhile; "
                           + std::to_string(st.refused_stale) + " refused so far");
    return true;
  }
  // Later local stamps exceed the copy's stamps.
  for (auto& [k, v] : d.fields)
    st.hlc.observe(v.ts);
  if (log_to_disk)
    merge(self, d);
  else
    st.store.merge(d);
  return true;
}

record_delta delta_of(repl_actor* self, const std::string& id,
                      std::initializer_list<std::pair<std::string, std::string>> fields) {
  record_delta d;
  d.id = id;
  for (auto& [k, v] : fields)
    d.fields[k] = field_value{v, self->state.hlc.now()};
  return d;
}

/// Applies `d` here (the primary) and replicates it to the record's backups;
/// answers `rp` at the op's consistency.
void write(repl_actor* self, const session_op& op, record_delta d, std::optional<caf::response_promise> rp,
           const std::vector<std::string>& replicas) {
  auto& st = self->state;
  auto refuse = [&rp](caf::error err) {
    if (rp)
      rp->deliver(std::move(err));
  };
  if (auto why = st.view->fenced())
    return refuse(make_error(errc::fenced, *why));
  if (st.cfg.durable == durability::fsync && !st.disk_error.empty())
    return refuse(make_error(errc::disk_failed, st.me + " cannot persist the write: " + st.disk_error));
  write_quorum quorum{op.level, st.cfg.factor, st.members.size()};
  if (!quorum.enough(replicas.size()))
    return refuse(make_error(errc::no_quorum, std::string{"write "} + to_string(static_cast<consistency>(op.level))
                                                    + " needs " + std::to_string(quorum.needed_total()) + " replicas; "
                                                    + std::to_string(replicas.size()) + " reachable"));
  merge(self, d);
  auto number = st.next_write++;
  // A write answered with ok (put, touch …) carries no copy of the record:
  // its cost stays that of the change, however large the record grew
  // (a forwarded one would send the copy back over the network too).
  actors::session_record result;
  result.id = d.id;
  if (rp && answers_record(op.kind)) {
    result = st.store.to_session(d.id);
    result.replicas = placement(self, d.id);
  }
  st.writes.emplace(number, write_wait{std::move(rp), op, std::move(result), std::move(d), std::move(quorum), false});
  // The backups are asked at once, in parallel with this node's own append.
  ask_backups(self, number, {replicas.begin() + 1, replicas.end()});
  when_durable(self, [self, number](const std::string& err) {
    auto i = self->state.writes.find(number);
    if (i == self->state.writes.end())
      return;
    if (!err.empty()) {
      if (i->second.rp)
        i->second.rp->deliver(
          make_error(errc::disk_failed, self->state.me + " cannot persist the write: " + err));
      self->state.writes.erase(i);
      return;
    }
    i->second.durable = true;
    finish_write(self, number);
  });
}

/// After a placement change: writes still waiting also ask the record's new
/// backups (a backup that died answers nothing useful before the timeout).
void widen_writes(repl_actor* self) {
  auto& st = self->state;
  std::vector<std::pair<uint64_t, std::vector<std::string>>> asks;
  for (auto& [number, w] : st.writes) {
    if (w.quorum.missing() == 0)
      continue;
    auto replicas = placement(self, w.delta.id);
    if (replicas.size() > 1)
      asks.emplace_back(number, std::vector<std::string>{replicas.begin() + 1, replicas.end()});
  }
  for (auto& [number, peers] : asks)
    ask_backups(self, number, peers); // (the quorum skips peers asked already)
}

/// Serves `op` here if this node is the record's primary, else forwards it.
void serve(repl_actor* self, session_op op, caf::response_promise rp, bool repaired) {
  auto& st = self->state;
  if (op.id.empty())
    return rp.deliver(actors::make_error(actors::errc::invalid_argument, "a session id must not be empty"));
  if (st.view->unfenced_count() != st.unfenced_seen && st.members_known) {
    // Fencing was lifted since the members were read: the layout here is
    // the isolation's, in which this node led everything. Wait for the
    // members (what it leads is then repaired before it is served).
    st.waiting.push_back(queued_op{std::move(op), std::move(rp)});
    return read_members(self);
  }
  if (op.hops > 0) {
    sender_view sender;
    if (auto m = st.members.find(op.origin.from); m != st.members.end())
      sender = sender_view{true, is_member_of(st.layout.members, m->first), m->second.incarnation};
    if (auto why = stale_forward(op.origin, incarnation_of(st, st.me), sender))
      return rp.deliver(make_error(errc::placement_moving, st.me + " refused a forwarded operation on " + op.id + ": "
                                                             + *why + "; retry"));
  }
  auto replicas = placement(self, op.id);
  if (!replicas.empty() && replicas.front() == st.me) {
    if (auto holder = claimed_by(self, op.id)) {
      if (op.hops > 0 && op.origin.from == *holder) {
        st.claims.drop(op.id, *holder); // it takes this node for the primary now
      } else if (op.hops < max_hops) {
        return forward(self, std::move(op), std::move(rp), *holder);
      } else {
        return rp.deliver(make_error(errc::placement_moving, *holder + " has taken over " + op.id + " from " + st.me
                                                               + " and members disagree about its primary for a "
                                                               "moment; retry"));
      }
    }
  }
  auto where = route_of(st.me, replicas, op.hops, op.waits);
  switch (where.kind) {
    case route::no_members:
      return rp.deliver(make_error(errc::no_quorum, "no member is up to hold " + op.id + " (the cluster is forming)"));
    case route::serve_here:
      return serve_primary(self, std::move(op), std::move(rp), replicas, repaired);
    case route::wait:
      ++op.waits;
      st.waiting.push_back(queued_op{std::move(op), std::move(rp)});
      return;
    case route::moving:
      return rp.deliver(make_error(errc::placement_moving, "members disagree about the primary of " + op.id
                                                             + " for a moment; retry"));
    case route::forward:
      return forward(self, std::move(op), std::move(rp), where.primary);
  }
}

/// Serves again the forwarded operations whose primary is no longer a
/// placement member (it died or was cut off while they were under way).
void reroute(repl_actor* self) {
  for (auto& [primary, f] : self->state.forwards.take_departed(self->state.layout.members)) {
    f.hop.fail("rerouted: " + primary + " left before it answered");
    f.hop.end();
    serve(self, std::move(f.op), std::move(f.rp));
  }
}

/// Fails the forwards parked after their primary's connection dropped
/// whose primary stayed in the view until their deadline.
void expire_forwards(repl_actor* self) {
  for (auto& [primary, f] : self->state.forwards.take_expired(clock::now())) {
    auto why = "lost the connection to " + primary + " before it answered; the write may or may not have "
               "taken effect; retry";
    f.hop.fail(why);
    f.hop.end();
    f.rp.deliver(make_error(errc::unreachable, std::move(why)));
  }
}

} // namespace cafmcp::cluster::detail
