#include "cluster/replicator.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/core_sup.hpp"
#include "actors/errors.hpp"
#include "actors/messages.hpp"
#include "actors/session_manager.hpp"
#include "cluster/errors.hpp"
#include "cluster/hlc.hpp"
#include "cluster/placement.hpp"
#include "cluster/replica_disk.hpp"
#include "cluster/replica_store.hpp"
#include "base/log.hpp"
#include "supervision/worker.hpp"

namespace cafmcp::cluster {

namespace {

using clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

using repl_tick_atom = caf::atom_constant<caf::atom("rp_tick")>;
using repl_sweep_atom = caf::atom_constant<caf::atom("rp_sweep")>;
using repl_snap_atom = caf::atom_constant<caf::atom("rp_snap")>;
using repl_local_atom = caf::atom_constant<caf::atom("rp_local")>; // serve a routed op, answer the router

constexpr size_t max_hops = 3;           // forwards of one operation
constexpr uint32_t max_waits = 10;       // ticks a forwarded operation waits for views to agree
constexpr size_t push_batch = 256;       // records per push message
constexpr milliseconds tombstone_keep{60000}; // a deleted record is forgotten after this
constexpr milliseconds renew_every{1000};     // reads renew last activity at most this often

int64_t wall_ms() {
  return std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

struct write_wait {
  std::optional<caf::response_promise> rp; // none: a write nobody waits for (renewal, expiry)
  session_op op;
  actors::session_record result;
  size_t needed = 0;      // backup acks still needed
  size_t outstanding = 0; // backups yet to answer
  size_t acked = 0;
  record_delta delta;          // what the backups are sent
  std::set<std::string> asked; // backups sent it
};

struct peer_stats {
  uint64_t sent = 0, acked = 0, failed = 0, bytes = 0;
  std::multiset<clock::time_point> inflight;
};

struct queued_op {
  session_op op;
  caf::response_promise rp;
};

struct forward_wait {
  session_op op; // as our caller sent it
  caf::response_promise rp;
  std::string primary;
  trace::span hop; // the cross-node hop (tracing on and the op traced)
};

struct repl_state {
  replication_config cfg;
  std::string me;
  std::shared_ptr<cluster_view> view;
  std::shared_ptr<actors::name_table> names;
  std::string path;
  replica_store store;
  hlc_clock hlc{""};
  std::map<std::string, member_handle> members; // up members (reachable or not), by name
  std::vector<std::string> placement_members;   // the reachable ones: they hold placement
  std::map<std::string, std::string> drains;    // drained member → where its primaries go
  std::map<std::string, uint64_t> drain_incarnation;
  std::map<uint64_t, write_wait> writes;
  uint64_t next_write = 0;
  std::map<uint64_t, forward_wait> forwards; // operations at another primary
  uint64_t next_forward = 0;
  std::vector<queued_op> waiting; // forwarded here, but this node does not lead them (yet)
  std::set<std::string> needs_repair;                         // pull before serving
  std::map<std::string, std::vector<queued_op>> repairing;    // pulls under way, with waiting ops
  std::map<std::string, peer_stats> stats;
  uint64_t promotions = 0;
  bool members_known = false;
  std::vector<record_delta> wal; // changes since the last tick, for replica_disk
  std::set<std::string> orphans_seen; // task records handed to on_orphaned_task
  bool loaded = true;         // what replica_disk held is in the store (catch up only then)
  uint32_t sync_pending = 0;  // catch-up answers still due
  uint64_t caught_up = 0;
};

using repl_actor = caf::stateful_actor<repl_state>;

size_t payload_bytes(const record_delta& d) {
  size_t n = d.id.size();
  for (auto& [k, v] : d.fields)
    n += k.size() + v.value.size() + 16;
  return n;
}

/// Rendezvous placement over `members`, then the record's pin (a migrated
/// record is led by the member it was migrated to, while that one is a
/// placement member and not drained).
std::vector<std::string> place_record(repl_actor* self, const std::string& id, const std::vector<std::string>& members,
                                      const std::map<std::string, std::string>& drains) {
  auto& st = self->state;
  auto out = place(id, members, st.cfg.factor, drains);
  auto pin = st.store.value(id, field::pin);
  if (pin.empty() || drains.count(pin) || std::find(members.begin(), members.end(), pin) == members.end()
      || (!out.empty() && out.front() == pin))
    return out;
  out.erase(std::remove(out.begin(), out.end(), pin), out.end());
  out.insert(out.begin(), pin);
  if (out.size() > st.cfg.factor)
    out.resize(st.cfg.factor);
  return out;
}

std::vector<std::string> placement(repl_actor* self, const std::string& id) {
  auto& st = self->state;
  return place_record(self, id, st.placement_members, st.drains);
}

/// Replicas a write needs at `level`, counted over min(factor, up members):
/// a node cut off from the others still counts them, so it cannot reach a
/// majority on its own.
size_t needed_replicas(repl_actor* self, uint8_t level) {
  auto& st = self->state;
  auto rf = std::max<size_t>(1, std::min(st.cfg.factor, st.members.size()));
  return replicas_needed(level, rf);
}

caf::actor node_of(repl_actor* self, const std::string& name) {
  auto i = self->state.members.find(name);
  return i == self->state.members.end() ? caf::actor{} : i->second.node;
}

/// Answers in the shape the session manager's API promises; a forwarded
/// operation (hops > 0) always gets the record, which the forwarding node
/// turns into that shape.
void answer(caf::response_promise& rp, const session_op& op, actors::session_record rec) {
  if (op.hops > 0)
    return rp.deliver(std::move(rec));
  switch (op.kind) {
    case session_op::put:
    case session_op::touch:
    case session_op::remove:
    case session_op::set_info:
      rp.deliver(caf::ok_atom::value);
      break;
    default:
      rp.deliver(std::move(rec));
  }
}

void serve(repl_actor* self, session_op op, caf::response_promise rp, bool repaired = false);

/// Merges `d` into the store; a change is logged for the WAL.
void merge(repl_actor* self, const record_delta& d) {
  if (self->state.store.merge(d))
    self->state.wal.push_back(d);
}

/// Merges a copy from another replica; later local stamps exceed its stamps.
void absorb(repl_actor* self, const record_delta& d) {
  for (auto& [k, v] : d.fields)
    self->state.hlc.observe(v.ts);
  merge(self, d);
}

/// Writes the whole store to replica_disk's snapshot (if it runs).
void snapshot(repl_actor* self) {
  auto disk = self->state.names->lookup("replica_disk");
  if (!disk)
    return;
  std::vector<record_delta> all;
  for (auto& id : self->state.store.ids())
    all.push_back(self->state.store.full(id));
  self->state.wal.clear(); // the snapshot holds them, and replaces the WAL
  caf::anon_send(disk, disk_snapshot_atom::value, std::move(all));
}

void flush_wal(repl_actor* self) {
  if (self->state.wal.empty())
    return;
  if (auto disk = self->state.names->lookup("replica_disk"))
    caf::anon_send(disk, disk_append_atom::value, std::move(self->state.wal));
  self->state.wal.clear();
}

// -- to other replicators ----------------------------------------------------------

/// Sends deltas to `peer`'s replicator; `done(ok)` after its answer.
template <class F>
void send_apply(repl_actor* self, const std::string& peer, std::vector<record_delta> ds, F done) {
  auto node = node_of(self, peer);
  if (!node) {
    done(false);
    return;
  }
  auto& ps = self->state.stats[peer];
  size_t bytes = 0;
  for (auto& d : ds)
    bytes += payload_bytes(d);
  ps.sent += ds.size();
  ps.bytes += bytes;
  auto started = clock::now();
  auto slot = ps.inflight.insert(started);
  auto n = ds.size();
  self->request(node, self->state.cfg.write_timeout, call_atom::value, peer, std::string{"replicator"},
                caf::make_message(repl_apply_atom::value, std::move(ds)))
    .then(
      [self, peer, slot, n, done](caf::ok_atom) mutable {
        auto& ps = self->state.stats[peer];
        ps.inflight.erase(slot);
        ps.acked += n;
        done(true);
      },
      [self, peer, slot, done](caf::error&) mutable {
        auto& ps = self->state.stats[peer];
        ps.inflight.erase(slot);
        ++ps.failed;
        done(false);
      });
}

/// Ships full copies of `ids` to `peer` in batches; `done(ok)` once every
/// batch is answered.
template <class F>
void push_records(repl_actor* self, const std::string& peer, const std::vector<std::string>& ids, F done) {
  if (ids.empty()) {
    done(true);
    return;
  }
  auto batches = std::make_shared<size_t>((ids.size() + push_batch - 1) / push_batch);
  auto ok = std::make_shared<bool>(true);
  for (size_t i = 0; i < ids.size(); i += push_batch) {
    std::vector<record_delta> ds;
    for (size_t j = i; j < std::min(ids.size(), i + push_batch); ++j)
      ds.push_back(self->state.store.full(ids[j]));
    send_apply(self, peer, std::move(ds), [batches, ok, done](bool fine) mutable {
      *ok = *ok && fine;
      if (--*batches == 0)
        done(*ok);
    });
  }
}

// -- writes at the primary -----------------------------------------------------------

void finish_write(repl_actor* self, uint64_t number) {
  auto& st = self->state;
  auto i = st.writes.find(number);
  if (i == st.writes.end())
    return;
  auto& w = i->second;
  if (w.needed == 0) {
    if (w.rp)
      answer(*w.rp, w.op, std::move(w.result));
  } else if (w.outstanding == 0) {
    if (w.rp)
      w.rp->deliver(make_error(errc::no_quorum, std::string{"write "} + to_string(static_cast<consistency>(w.op.level))
                                               + ": acknowledged by " + std::to_string(w.acked + 1) + " of "
                                               + std::to_string(w.acked + 1 + w.needed) + " replicas needed within "
                                               + std::to_string(st.cfg.write_timeout.count()) + " ms"));
  } else {
    return; // still waiting
  }
  st.writes.erase(i);
}

void ask_backup(repl_actor* self, uint64_t number, const std::string& peer) {
  auto& w = self->state.writes[number];
  ++w.outstanding;
  w.asked.insert(peer);
  send_apply(self, peer, {w.delta}, [self, number](bool ok) {
    auto i = self->state.writes.find(number);
    if (i == self->state.writes.end())
      return; // answered already
    auto& w = i->second;
    --w.outstanding;
    if (ok && w.needed > 0) {
      ++w.acked;
      --w.needed;
    }
    finish_write(self, number);
  });
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
  auto need = needed_replicas(self, op.level);
  if (replicas.size() < need)
    return refuse(make_error(errc::no_quorum, std::string{"write "} + to_string(static_cast<consistency>(op.level))
                                                    + " needs " + std::to_string(need) + " replicas; "
                                                    + std::to_string(replicas.size()) + " reachable"));
  merge(self, d);
  auto number = st.next_write++;
  auto& w = st.writes[number];
  w.rp = std::move(rp);
  w.op = op;
  w.result = st.store.to_session(d.id);
  w.result.replicas = placement(self, d.id);
  w.needed = need - 1;
  w.delta = std::move(d);
  for (size_t k = 1; k < replicas.size(); ++k)
    ask_backup(self, number, replicas[k]);
  finish_write(self, number);
}

/// After a placement change: writes still waiting also ask the record's new
/// backups (a backup that died answers nothing useful before the timeout).
void widen_writes(repl_actor* self) {
  auto& st = self->state;
  std::vector<std::pair<uint64_t, std::string>> asks;
  for (auto& [number, w] : st.writes) {
    if (w.needed == 0)
      continue;
    auto replicas = placement(self, w.delta.id);
    for (size_t k = 1; k < replicas.size(); ++k)
      if (!w.asked.count(replicas[k]))
        asks.emplace_back(number, replicas[k]);
  }
  for (auto& [number, peer] : asks)
    ask_backup(self, number, peer);
}

record_delta delta_of(repl_actor* self, const std::string& id,
                      std::initializer_list<std::pair<std::string, std::string>> fields) {
  record_delta d;
  d.id = id;
  for (auto& [k, v] : fields)
    d.fields[k] = field_value{v, self->state.hlc.now()};
  return d;
}

// -- read repair -------------------------------------------------------------------

/// Pulls `id` from every other reachable member, merges what comes back,
/// then serves the ops that waited for it.
void repair(repl_actor* self, std::string id, queued_op first) {
  auto& st = self->state;
  auto existing = st.repairing.find(id);
  if (existing != st.repairing.end()) {
    existing->second.push_back(std::move(first));
    return;
  }
  st.repairing[id].push_back(std::move(first));
  std::vector<std::string> peers;
  for (auto& m : st.placement_members)
    if (m != st.me)
      peers.push_back(m);
  auto left = std::make_shared<size_t>(peers.size());
  auto done = [self, id] {
    auto& st = self->state;
    st.needs_repair.erase(id);
    auto ops = std::move(st.repairing[id]);
    st.repairing.erase(id);
    for (auto& q : ops)
      serve(self, std::move(q.op), std::move(q.rp), true);
  };
  if (peers.empty())
    return done();
  for (auto& peer : peers) {
    self->request(node_of(self, peer), st.cfg.write_timeout, call_atom::value, peer, std::string{"replicator"},
                  caf::make_message(repl_pull_atom::value, std::vector<std::string>{id}))
      .then(
        [self, left, done](std::vector<record_delta>& ds) {
          for (auto& d : ds)
            absorb(self, d);
          if (--*left == 0)
            done();
        },
        [left, done](caf::error&) {
          // A member that cannot answer holds nothing we could have lost:
          // every acknowledged write is on a reachable replica as well.
          if (--*left == 0)
            done();
        });
  }
}

/// migrate_session, at the primary: the target gets the whole record first,
/// then the pin (written at the op's consistency to the old replicas and
/// the target), after which the target leads the record.
void migrate(repl_actor* self, session_op op, caf::response_promise rp, std::vector<std::string> replicas) {
  auto& st = self->state;
  auto to = op.value;
  if (!st.store.live(op.id))
    return rp.deliver(actors::make_error(actors::errc::not_found, op.id));
  if (std::find(st.placement_members.begin(), st.placement_members.end(), to) == st.placement_members.end()
      || st.drains.count(to))
    return rp.deliver(make_error(errc::unknown_node, to + " is not an up, reachable member that takes records"));
  if (to == st.me) {
    auto rec = st.store.to_session(op.id);
    rec.replicas = replicas;
    return rp.deliver(std::move(rec)); // leads it already
  }
  send_apply(self, to, {st.store.full(op.id)}, [self, op, rp, replicas, to](bool ok) mutable {
    if (!ok)
      return rp.deliver(make_error(errc::unreachable, to + " did not take the record"));
    if (std::find(replicas.begin(), replicas.end(), to) == replicas.end())
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
  if (st.repairing.count(op.id)
      || (!repaired && op.kind != session_op::create && (st.needs_repair.count(op.id) || !held))) {
    auto id = op.id; // (not op.id itself: the op is moved into the queue)
    return repair(self, id, queued_op{std::move(op), std::move(rp)});
  }
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

/// Serves `op` here if this node is the record's primary, else forwards it.
void serve(repl_actor* self, session_op op, caf::response_promise rp, bool repaired) {
  auto& st = self->state;
  if (op.id.empty())
    return rp.deliver(actors::make_error(actors::errc::invalid_argument, "a session id must not be empty"));
  auto replicas = placement(self, op.id);
  if (replicas.empty())
    return rp.deliver(make_error(errc::no_quorum, "no member is up to hold " + op.id + " (the cluster is forming)"));
  if (replicas.front() == st.me)
    return serve_primary(self, std::move(op), std::move(rp), replicas, repaired);
  // Sent here by a node that takes this one for the primary: views differ
  // for a moment (a member joining or leaving). Wait a few ticks for them
  // to agree rather than bounce the operation back.
  if (op.hops > 0 && op.waits < max_waits) {
    ++op.waits;
    st.waiting.push_back(queued_op{std::move(op), std::move(rp)});
    return;
  }
  if (op.hops >= max_hops)
    return rp.deliver(make_error(errc::placement_moving, "members disagree about the primary of " + op.id
                                                           + " for a moment; retry"));
  // Kept until answered: if the primary leaves first, the operation is
  // served again by the new primary (reroute) instead of timing out.
  auto number = st.next_forward++;
  auto& f = st.forwards[number];
  f.op = op;
  f.rp = std::move(rp);
  f.primary = replicas.front();
  ++op.hops;
  if (op.trace.valid() && trace::enabled()) {
    f.hop = trace::start_span("cluster.forward", trace::span_kind::client, op.trace);
    f.hop.set("cafmcp.peer", f.primary);
    f.hop.set("cafmcp.record", op.id);
    f.hop.set("cafmcp.hops", static_cast<int64_t>(op.hops));
    op.trace = f.hop.ctx(); // the primary's span is the hop's child
  }
  self->request(node_of(self, f.primary), st.cfg.write_timeout + milliseconds{500}, call_atom::value, f.primary,
                std::string{"replicator"}, caf::make_message(repl_route_atom::value, op))
    .then(
      [self, number](actors::session_record& rec) {
        auto i = self->state.forwards.find(number);
        if (i == self->state.forwards.end())
          return; // rerouted
        auto f = std::move(i->second);
        self->state.forwards.erase(i);
        answer(f.rp, f.op, std::move(rec));
      },
      [self, number](caf::error& err) {
        auto i = self->state.forwards.find(number);
        if (i == self->state.forwards.end())
          return;
        auto f = std::move(i->second);
        self->state.forwards.erase(i);
        f.hop.fail(self->system().render(err));
        f.rp.deliver(std::move(err));
      });
}

/// Serves again the forwarded operations whose primary is no longer a
/// placement member (it died or was cut off while they were under way).
void reroute(repl_actor* self) {
  auto& st = self->state;
  std::vector<forward_wait> again;
  for (auto i = st.forwards.begin(); i != st.forwards.end();) {
    if (std::find(st.placement_members.begin(), st.placement_members.end(), i->second.primary)
        == st.placement_members.end()) {
      again.push_back(std::move(i->second));
      i = st.forwards.erase(i);
    } else {
      ++i;
    }
  }
  for (auto& f : again) {
    f.hop.fail("rerouted: " + f.primary + " left before it answered");
    f.hop.end();
    serve(self, std::move(f.op), std::move(f.rp));
  }
}

// -- membership ------------------------------------------------------------------

/// Placement moved from (old members, old drains) to the current ones:
/// restore every record's replicas and mark the ones this node now leads.
void rebalance(repl_actor* self, const std::vector<std::string>& old_members,
               const std::map<std::string, std::string>& old_drains) {
  auto& st = self->state;
  std::map<std::string, std::vector<std::string>> pushes; // peer → ids
  size_t promoted = 0;
  for (auto& id : st.store.ids()) {
    auto before = place_record(self, id, old_members, old_drains);
    auto now = placement(self, id);
    bool was_primary = !before.empty() && before.front() == st.me;
    if (!now.empty() && now.front() == st.me && !was_primary) {
      st.needs_repair.insert(id);
      if (!before.empty() && std::find(st.placement_members.begin(), st.placement_members.end(), before.front())
                               == st.placement_members.end())
        ++promoted;
    }
    for (auto& m : now)
      if (m != st.me && std::find(before.begin(), before.end(), m) == before.end())
        pushes[m].push_back(id);
    // No longer a replica of it (drained, or a member joined): hand it to
    // all of its replicas. The copy stays here until then as well.
    if (std::find(now.begin(), now.end(), st.me) == now.end())
      for (auto& m : now)
        pushes[m].push_back(id);
  }
  for (auto& [peer, ids] : pushes) {
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    push_records(self, peer, ids, [](bool) {});
  }
  st.promotions += promoted;
  if (promoted > 0 || !pushes.empty())
    log::info(st.path, "placement changed (members " + std::to_string(st.placement_members.size()) + "): primary for "
                         + std::to_string(promoted) + " record(s) of departed members; copies sent to "
                         + std::to_string(pushes.size()) + " member(s)");
}

/// A (re)started replicator holds nothing: fetch from every member the
/// records this node is a replica of (the others push only on changes).
void catch_up(repl_actor* self) {
  auto& st = self->state;
  // The digest (what this node holds, e.g. from disk) keeps the answers to
  // what it lacks or holds in an older version.
  record_digest have;
  for (auto& id : st.store.ids())
    have[id] = st.store.last_write(id);
  for (auto& peer : st.placement_members) {
    if (peer == st.me)
      continue;
    ++st.sync_pending;
    self->request(node_of(self, peer), milliseconds{30000}, call_atom::value, peer, std::string{"replicator"},
                  caf::make_message(repl_sync_atom::value, st.me, have))
      .then(
        [self, peer](std::vector<record_delta>& ds) {
          auto& st = self->state;
          for (auto& d : ds)
            absorb(self, d);
          --st.sync_pending;
          st.caught_up += ds.size();
          log::info(st.path, "caught up from " + peer + ": " + std::to_string(ds.size()) + " record(s) newer or missing here"
                               + (st.sync_pending > 0 ? "; waiting on " + std::to_string(st.sync_pending) + " more member(s)"
                                                      : "; done"));
        },
        [self, peer](caf::error& err) {
          --self->state.sync_pending;
          log::warning(self->state.path, "catching up from " + peer + " failed: " + self->system().render(err));
        });
  }
}

void update_members(repl_actor* self, std::vector<member_handle>& ms) {
  auto& st = self->state;
  auto old_members = st.placement_members;
  auto old_drains = st.drains;
  st.members.clear();
  st.placement_members.clear();
  for (auto& m : ms) {
    if (m.reachable)
      st.placement_members.push_back(m.name);
    st.members[m.name] = m;
  }
  std::sort(st.placement_members.begin(), st.placement_members.end());
  // A drain ends with the drained incarnation.
  for (auto i = st.drains.begin(); i != st.drains.end();) {
    auto m = st.members.find(i->first);
    if (m == st.members.end() || m->second.incarnation != st.drain_incarnation[i->first]) {
      st.drain_incarnation.erase(i->first);
      i = st.drains.erase(i);
    } else {
      ++i;
    }
  }
  if (!st.members_known) {
    if (!st.loaded)
      return; // catch up once the disk's records are in (the next tick)
    st.members_known = true;
    catch_up(self);
  } else if (old_members != st.placement_members || old_drains != st.drains) {
    rebalance(self, old_members, old_drains);
    reroute(self);
    widen_writes(self);
  }
}

/// A task record (info kind "task") still "working" whose owner is gone, or
/// is this node: handed to on_orphaned_task once.
void find_orphan(repl_actor* self, const std::string& id) {
  auto& st = self->state;
  if (!st.cfg.on_orphaned_task || st.orphans_seen.count(id))
    return;
  auto info_text = st.store.value(id, field::info);
  if (info_text.find("\"task\"") == std::string::npos)
    return; // cheap filter before parsing
  auto info = nlohmann::json::parse(info_text, nullptr, false);
  if (!info.is_object() || info.value("kind", "") != "task")
    return;
  auto state = nlohmann::json::parse(st.store.value(id, field::data("state")), nullptr, false);
  if (!state.is_object() || state.value("status", "") != "working")
    return;
  auto owner = info.value("owner", "");
  if (owner != st.me && st.members.count(owner))
    return; // its node runs it
  st.orphans_seen.insert(id);
  log::info(st.path, "task " + id + " was running on " + owner + ", which is gone or restarted: taking it over");
  st.cfg.on_orphaned_task(st.store.to_session(id));
}

void sweep(repl_actor* self) {
  auto& st = self->state;
  auto now = wall_ms();
  size_t expired = 0;
  for (auto& id : st.store.ids()) {
    if (!st.store.live(id)) {
      auto ts = st.store.last_write(id);
      if (static_cast<int64_t>(ts.wall_ms) + tombstone_keep.count() < now)
        st.store.erase(id);
      continue;
    }
    auto replicas = placement(self, id);
    if (replicas.empty() || replicas.front() != st.me || st.needs_repair.count(id))
      continue;
    find_orphan(self, id);
    auto active = st.store.number(id, field::active);
    auto ttl = st.store.number(id, field::ttl);
    if (ttl > 0 && now - active >= ttl) {
      session_op op;
      op.kind = session_op::remove;
      op.id = id;
      op.level = static_cast<uint8_t>(consistency::local);
      write(self, op, delta_of(self, id, {{field::gone, "1"}}), std::nullopt, replicas);
      ++expired;
    }
  }
  if (expired > 0)
    log::info(st.path, "expired " + std::to_string(expired) + " record(s)");
}

replication_status status_of(repl_actor* self) {
  auto& st = self->state;
  replication_status out;
  out.node = st.me;
  out.factor = static_cast<uint32_t>(st.cfg.factor);
  out.consistency = to_string(st.cfg.level);
  for (auto& id : st.store.ids()) {
    auto p = placement(self, id);
    if (!st.store.live(id) || std::find(p.begin(), p.end(), st.me) == p.end())
      continue; // a copy left from before a placement change is not counted
    ++out.records;
    if (p.front() == st.me)
      ++out.primaries;
  }
  out.repairing = st.needs_repair.size() + st.repairing.size();
  out.promotions = st.promotions;
  out.pending_writes = st.writes.size();
  out.sync_pending = st.sync_pending;
  out.caught_up = st.caught_up;
  out.members = st.placement_members;
  for (auto& [m, to] : st.drains)
    out.drained.push_back(m);
  auto now = clock::now();
  for (auto& [peer, ps] : st.stats) {
    peer_replication r;
    r.peer = peer;
    r.sent = ps.sent;
    r.acked = ps.acked;
    r.failed = ps.failed;
    r.bytes_sent = ps.bytes;
    r.lag_ms = ps.inflight.empty() ? 0 : std::chrono::duration_cast<milliseconds>(now - *ps.inflight.begin()).count();
    out.peers.push_back(r);
  }
  return out;
}

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

caf::behavior replicator_actor(repl_actor* self, replication_config cfg, std::string me,
                               std::shared_ptr<cluster_view> view, std::shared_ptr<actors::name_table> names,
                               std::string path) {
  auto& st = self->state;
  st.cfg = cfg;
  st.me = me;
  st.view = std::move(view);
  st.names = std::move(names);
  st.path = std::move(path);
  st.hlc = hlc_clock{me, cfg.clock_offset_ms};
  // A stray error reply (a late answer to a request we gave up on) must not
  // end this actor (CAF's default error handler would).
  self->set_error_handler([](caf::error&) {});
  self->send(self, repl_tick_atom::value);
  self->delayed_send(self, cfg.sweep_interval, repl_sweep_atom::value);
  if (auto disk = st.names->lookup("replica_disk")) {
    // What this node held before it stopped (or this actor crashed).
    st.loaded = false;
    self->request(disk, milliseconds{60000}, disk_load_atom::value)
      .then(
        [self](std::vector<record_delta>& ds) {
          self->state.loaded = true;
          auto before = self->state.wal.size();
          for (auto& d : ds)
            absorb(self, d);
          self->state.wal.resize(before); // those are on disk already
          if (!ds.empty())
            log::info(self->state.path, "restored " + std::to_string(self->state.store.size()) + " record(s) from disk");
        },
        [self](caf::error& err) {
          self->state.loaded = true;
          log::error(self->state.path, "could not read the replicas on disk: " + self->system().render(err));
        });
    self->delayed_send(self, cfg.snapshot_interval, repl_snap_atom::value);
  }
  // On an orderly stop the store goes to a snapshot first.
  self->set_exit_handler([self](caf::exit_msg& m) {
    snapshot(self);
    self->quit(m.reason);
  });
  auto level = static_cast<uint8_t>(cfg.level);
  auto local = [self](session_op op) {
    auto rp = self->make_response_promise();
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
    [self](repl_apply_atom, std::vector<record_delta>& ds) -> caf::result<caf::ok_atom> {
      if (auto why = self->state.view->fenced())
        return make_error(errc::fenced, *why);
      for (auto& d : ds)
            absorb(self, d);
      return caf::ok_atom::value;
    },
    [self](repl_pull_atom, const std::vector<std::string>& ids) {
      std::vector<record_delta> out;
      for (auto& id : ids)
        if (self->state.store.find(id))
          out.push_back(self->state.store.full(id));
      return out;
    },
    [self](repl_status_atom) { return status_of(self); },
    [=](repl_migrate_atom, std::string& id, std::string& to) {
      auto op = make_op(session_op::migrate, std::move(id), level);
      op.value = std::move(to);
      local(std::move(op));
    },
    [=](repl_backup_atom, std::string& id) { local(make_op(session_op::backup, std::move(id), level)); },
    [self](repl_sync_atom, const std::string& member, const record_digest& have) {
      std::vector<record_delta> out;
      for (auto& id : self->state.store.ids()) {
        auto p = placement(self, id);
        if (std::find(p.begin(), p.end(), member) == p.end())
          continue;
        auto theirs = have.find(id);
        if (theirs == have.end() || theirs->second < self->state.store.last_write(id))
          out.push_back(self->state.store.full(id));
      }
      return out;
    },
    [self](repl_drain_atom, const std::string& from, const std::string& to, bool all) -> caf::result<caf::ok_atom> {
      auto& st = self->state;
      auto m = st.members.find(from);
      if (m == st.members.end())
        return make_error(errc::unknown_node, from + " is not an up member");
      if (!to.empty() && (to == from || !st.members.count(to)))
        return make_error(errc::unknown_node, "--to " + to + " is not another up member");
      auto old_drains = st.drains;
      st.drains[from] = to;
      st.drain_incarnation[from] = m->second.incarnation;
      if (old_drains != st.drains) {
        log::info(st.path, "draining " + from + (to.empty() ? "" : " to " + to) + " (manual failover)");
        rebalance(self, st.placement_members, old_drains);
      }
      if (!all)
        return caf::ok_atom::value;
      // Tell every other member; answer once all have it.
      auto rp = self->make_response_promise();
      auto left = std::make_shared<size_t>(0);
      auto failed = std::make_shared<std::string>();
      std::vector<std::string> others;
      for (auto& [name, h] : st.members)
        if (name != st.me)
          others.push_back(name);
      if (others.empty()) {
        rp.deliver(caf::ok_atom::value);
        return rp;
      }
      *left = others.size();
      for (auto& name : others) {
        self->request(node_of(self, name), st.cfg.write_timeout, call_atom::value, name, std::string{"replicator"},
                      caf::make_message(repl_drain_atom::value, from, to, false))
          .then(
            [rp, left, failed](caf::ok_atom) mutable {
              if (--*left == 0)
                failed->empty() ? rp.deliver(caf::ok_atom::value)
                                : rp.deliver(make_error(errc::unreachable, *failed));
            },
            [rp, left, failed, name](caf::error&) mutable {
              *failed += (failed->empty() ? "not drained on: " : ", ") + name;
              if (--*left == 0)
                rp.deliver(make_error(errc::unreachable, *failed));
            });
      }
      return rp;
    },
    [self](repl_handoff_atom) -> caf::result<uint64_t> {
      // On the drained node: send every record to its replicas now, and
      // answer with the count once all of them hold it.
      auto& st = self->state;
      std::map<std::string, std::vector<std::string>> pushes;
      uint64_t count = 0;
      for (auto& id : st.store.ids()) {
        if (!st.store.live(id))
          continue;
        ++count;
        for (auto& m : placement(self, id))
          if (m != st.me)
            pushes[m].push_back(id);
      }
      auto rp = self->make_response_promise();
      if (pushes.empty()) {
        rp.deliver(count);
        return rp;
      }
      auto left = std::make_shared<size_t>(pushes.size());
      auto ok = std::make_shared<bool>(true);
      for (auto& [peer, ids] : pushes)
        push_records(self, peer, ids, [rp, left, ok, count](bool fine) mutable {
          *ok = *ok && fine;
          if (--*left == 0)
            *ok ? rp.deliver(count)
                : rp.deliver(make_error(errc::no_quorum, "some records were not acknowledged by their new replicas"));
        });
      return rp;
    },
    // -- timers --
    [self](repl_tick_atom) {
      auto node = self->state.names->lookup("node");
      if (node)
        self->request(node, milliseconds{1000}, repl_members_atom::value)
          .then(
            [self](std::vector<member_handle>& ms) {
              update_members(self, ms);
              auto again = std::move(self->state.waiting);
              self->state.waiting.clear();
              for (auto& q : again)
                serve(self, std::move(q.op), std::move(q.rp));
            },
            [](caf::error&) {});
      flush_wal(self);
      self->delayed_send(self, self->state.cfg.tick, repl_tick_atom::value);
    },
    [self](repl_snap_atom) {
      snapshot(self);
      self->delayed_send(self, self->state.cfg.snapshot_interval, repl_snap_atom::value);
    },
    [self](repl_sweep_atom) {
      sweep(self);
      self->delayed_send(self, self->state.cfg.sweep_interval, repl_sweep_atom::value);
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
