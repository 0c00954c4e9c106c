// The replicator's copies between members: pushes, membership changes (rebalance, catch-up), drain and handoff, the TTL sweep, the disk and status.
#include "cluster/detail/replicator_state.hpp"

#include "base/log.hpp"
#include "cluster/errors.hpp"
#include "cluster/rebalance_plan.hpp"
#include "cluster/replica_disk.hpp"
#include "cluster/ttl_sweep.hpp"

namespace cafmcp::cluster::detail {

namespace {

size_t payload_bytes(const record_delta& d) {
  size_t n = d.id.size();
  for (auto& [k, v] : d.fields)
    n += k.size() + v.value.size() + 16;
  return n;
}

/// A (re)started replicator holds nothing: fetch from every member the
/// records this node is a replica of (the others push only on changes).
void catch_up(repl_actor* self) {
  auto& st = self->state;
  // The digest (what this node holds, e.g. from disk) keeps the answers to
  // what it lacks or holds in an older version.
  auto have = digest_of(st.store);
  for (auto& peer : st.layout.members) {
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

/// A task record this node leads, still "working" while its owner is gone
/// (or is this node): handed to on_orphaned_task once.
void find_orphan(repl_actor* self, const std::string& id) {
  auto& st = self->state;
  if (!st.cfg.on_orphaned_task)
    return;
  auto owner = st.orphans.check(id, st.store.value(id, field::info), st.store.value(id, field::data("state")), st.me,
                                [&st](const std::string& m) { return st.members.count(m) > 0; });
  if (!owner)
    return;
  log::info(st.path, "task " + id + " was running on " + *owner + ", which is gone or restarted: taking it over");
  st.cfg.on_orphaned_task(st.store.to_session(id));
}

} // namespace

void send_apply(repl_actor* self, const std::string& peer, std::vector<record_delta> ds,
                std::function<void(bool)> done, bool primary_write, bool restored) {
  auto node = node_of(self, peer);
  if (!node) {
    done(false);
    return;
  }
  auto& ps = self->state.stats[peer];
  if (!peer_allows(self, peer).allowed) {
    // Not sent, as if it had timed out: the quorum counts it missing and
    // repair brings the backup up to date once it answers again.
    ++ps.failed;
    done(false);
    return;
  }
  size_t bytes = 0;
  for (auto& d : ds)
    bytes += payload_bytes(d);
  ps.sent += ds.size();
  ps.bytes += bytes;
  auto slot = ps.inflight.insert(clock::now());
  auto n = ds.size();
  auto msg = restored ? caf::make_message(repl_apply_atom::value, std::move(ds), primary_write, true)
                      : caf::make_message(repl_apply_atom::value, std::move(ds), primary_write);
  self->request(node, self->state.cfg.write_timeout, call_atom::value, peer, std::string{"replicator"},
                std::move(msg))
    .then(
      [self, peer, slot, n, done](caf::ok_atom) {
        auto& ps = self->state.stats[peer];
        ps.inflight.erase(slot);
        ps.acked += n;
        record_peer(self, peer);
        done(true);
      },
      [self, peer, slot, done](caf::error& err) {
        auto& ps = self->state.stats[peer];
        ps.inflight.erase(slot);
        ++ps.failed;
        record_peer(self, peer, err);
        done(false);
      });
}

void push_records(repl_actor* self, const std::string& peer, const std::vector<std::string>& ids,
                  std::function<void(bool)> done) {
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
    send_apply(self, peer, std::move(ds), [batches, ok, done](bool fine) {
      *ok = *ok && fine;
      if (--*batches == 0)
        done(*ok);
    });
  }
}

/// Placement moved from `before` to the current layout: restore every
/// record's replicas and mark the ones this node now leads.
void rebalance(repl_actor* self, const placement_view& before) {
  auto& st = self->state;
  auto plan = plan_rebalance(st.store, st.me, before, st.layout);
  st.needs_repair.insert(plan.newly_led.begin(), plan.newly_led.end());
  for (auto& [peer, ids] : plan.pushes)
    push_records(self, peer, ids, [](bool) {});
  st.promotions += plan.promoted;
  if (plan.promoted > 0 || !plan.pushes.empty())
    log::info(st.path, "placement changed (members " + std::to_string(st.layout.members.size()) + "): primary for "
                         + std::to_string(plan.promoted) + " record(s) of departed members; copies sent to "
                         + std::to_string(plan.pushes.size()) + " member(s)");
}

void update_members(repl_actor* self, std::vector<member_handle>& ms) {
  auto& st = self->state;
  auto before = st.layout;
  auto members_before = std::move(st.members);
  st.members.clear();
  st.layout.members.clear();
  for (auto& m : ms) {
    if (m.reachable)
      st.layout.members.push_back(m.name);
    st.members[m.name] = m;
  }
  std::sort(st.layout.members.begin(), st.layout.members.end());
  // A drain ends with the drained incarnation.
  auto& drains = st.layout.drains;
  for (auto i = drains.begin(); i != drains.end();) {
    auto m = st.members.find(i->first);
    if (m == st.members.end() || m->second.incarnation != st.drain_incarnation[i->first]) {
      st.drain_incarnation.erase(i->first);
      i = drains.erase(i);
    } else {
      ++i;
    }
  }
  if (!st.members_known) {
    if (!st.loaded)
      return; // catch up once the disk's records are in (the next tick)
    st.members_known = true;
    catch_up(self);
  } else if (before.members != st.layout.members || before.drains != st.layout.drains) {
    // Other members see the change a little earlier or later (after a heal,
    // some links come back before others): for a while a write may have
    // gone to a primary this node does not know of.
    st.unsettled_until = clock::now() + 2 * st.cfg.write_timeout;
    rebalance(self, before);
    reroute(self);
    widen_writes(self);
  }
  if (!st.members_known)
    return;
  if (auto why = missed_writes(members_before, st.members, st.me)) {
    mark_led_for_repair(self, why->why);
    if (why->rejoined)
      catch_up(self);
  }
}

void mark_led_for_repair(repl_actor* self, const std::string& why) {
  // A copy that missed writes must not answer a read.
  auto& st = self->state;
  size_t marked = 0;
  for (auto& id : st.store.ids()) {
    auto replicas = placement(self, id);
    if (!replicas.empty() && replicas.front() == st.me && st.needs_repair.insert(id).second)
      ++marked;
  }
  log::info(st.path, why + ": " + std::to_string(marked)
                       + " record(s) it leads are read from the other replicas before they are served");
}

void read_members(repl_actor* self) {
  auto& st = self->state;
  auto node = st.names->lookup("node");
  if (!node || st.reading_members)
    return;
  st.reading_members = true;
  auto unfenced = st.view->unfenced_count(); // read before the members: a lift after it is seen next time
  self->request(node, std::chrono::milliseconds{1000}, repl_members_atom::value)
    .then(
      [self, unfenced](std::vector<member_handle>& ms) {
        auto& st = self->state;
        st.reading_members = false;
        update_members(self, ms);
        if (unfenced != st.unfenced_seen) {
          st.unfenced_seen = unfenced;
          st.unsettled_until = clock::now() + 2 * st.cfg.write_timeout;
          if (st.members_known)
            mark_led_for_repair(self, st.me + " was fenced (a minority, or downed) and serves again");
        }
        auto again = std::move(st.waiting);
        st.waiting.clear();
        for (auto& q : again)
          serve(self, std::move(q.op), std::move(q.rp));
        repair_in_background(self);
      },
      [self](caf::error&) { self->state.reading_members = false; });
}

bool sweep(repl_actor* self) {
  auto& st = self->state;
  if (st.sweep_next >= st.sweep_ids.size()) {
    st.sweep_ids = st.store.ids(); // a new pass: records added meanwhile are in the next one
    st.sweep_next = 0;
  }
  auto from = st.sweep_ids.begin() + static_cast<std::ptrdiff_t>(st.sweep_next);
  auto n = std::min(sweep_slice, st.sweep_ids.size() - st.sweep_next);
  std::vector<std::string> slice(from, from + static_cast<std::ptrdiff_t>(n));
  st.sweep_next += n;
  size_t expired = 0;
  auto leads = [self](const std::string& id) {
    auto replicas = placement(self, id);
    return !replicas.empty() && replicas.front() == self->state.me && !self->state.needs_repair.count(id)
           && !claimed_by(self, id);
  };
  for (auto& step : plan_sweep(st.store, slice, wall_ms(), st.cfg.tombstone_ttl, leads)) {
    if (step.kind == sweep_step::forget) {
      st.store.erase(step.id);
    } else if (step.kind == sweep_step::led) {
      find_orphan(self, step.id);
    } else {
      session_op op;
      op.kind = session_op::remove;
      op.id = step.id;
      op.level = static_cast<uint8_t>(consistency::local);
      write(self, op, delta_of(self, step.id, {{field::gone, "1"}}), std::nullopt, placement(self, step.id));
      ++expired;
    }
  }
  if (expired > 0)
    log::info(st.path, "expired " + std::to_string(expired) + " record(s)");
  if (st.sweep_next < st.sweep_ids.size())
    return true;
  st.sweep_ids.clear(); // the pass is over: its ids need no memory until the next
  st.sweep_next = 0;
  return false;
}

namespace {

/// The disk works (again): a failure reported before is over.
void disk_ok(repl_actor* self) {
  auto& st = self->state;
  if (st.disk_error.empty())
    return;
  log::info(st.path, "the data directory takes writes again; acknowledging writes that need it");
  st.disk_error.clear();
}

void disk_failed(repl_actor* self, const std::string& why) {
  auto& st = self->state;
  ++st.disk_failures;
  if (st.disk_error.empty())
    log::error(st.path, "cannot persist replicas (" + why + "): writes that need this node's disk are refused "
                          "until it works again");
  st.disk_error = why;
  // Whoever waits for durability hears it now: their changes are not on disk.
  auto waiters = std::move(st.disk_waiters);
  st.disk_waiters.clear();
  for (auto& [seq, k] : waiters)
    k(why);
}

/// The disk actor's own words (its errors carry the failing call and errno).
std::string reason_of(repl_actor* self, const caf::error& err) {
  if (is(err, errc::disk_failed) && err.context().match_elements<std::string>())
    return err.context().get_as<std::string>(0);
  return self->system().render(err);
}

/// Answers the writes that the disk now holds.
void release_durable(repl_actor* self) {
  auto& st = self->state;
  while (!st.disk_waiters.empty() && st.disk.is_durable(st.disk_waiters.begin()->first)) {
    auto k = std::move(st.disk_waiters.begin()->second);
    st.disk_waiters.erase(st.disk_waiters.begin());
    k({});
  }
}

} // namespace

namespace {

/// Sends the next slice of the snapshot under way; the disk's answer sends
/// the one after it, so requests are served between slices.
void send_snapshot_slice(repl_actor* self) {
  auto& st = self->state;
  auto disk = st.names->lookup("replica_disk");
  if (!st.snapshotting || !disk) {
    st.snapshotting.reset();
    return;
  }
  auto& job = *st.snapshotting;
  std::vector<record_delta> slice;
  bool first = job.next == 0;
  auto end = std::min(job.ids.size(), job.next + snapshot_slice);
  for (; job.next < end; ++job.next)
    if (st.store.find(job.ids[job.next])) // (forgotten since it began: nothing to keep)
      slice.push_back(st.store.full(job.ids[job.next]));
  bool last = job.next >= job.ids.size();
  self->request(disk, disk_timeout, disk_snapshot_part_atom::value, job.id, std::move(slice), first, last)
    .then(
      [self, last, upto = job.upto](caf::ok_atom) {
        if (!last)
          return send_snapshot_slice(self);
        self->state.snapshotting.reset();
        self->state.disk.covered(upto);
        disk_ok(self);
        release_durable(self);
      },
      [self](caf::error& err) {
        self->state.snapshotting.reset();
        self->state.disk.snapshot_failed(clock::now());
        disk_failed(self, "snapshot: " + reason_of(self, err));
      });
}

} // namespace

void snapshot(repl_actor* self, bool stopping) {
  auto& st = self->state;
  auto disk = st.names->lookup("replica_disk");
  st.disk.snapshot_taken(clock::now());
  // Before the disk's records are in the store, a snapshot of the store
  // would replace them on disk with (nearly) nothing.
  if (!disk || !st.loaded)
    return;
  if (stopping) {
    // Whole, at once: nothing is served any more.
    std::vector<record_delta> all;
    for (auto& id : st.store.ids())
      all.push_back(st.store.full(id));
    return caf::anon_send(disk, disk_snapshot_atom::value, std::move(all));
  }
  if (st.snapshotting)
    return; // one at a time
  // In slices: copying a large store at once held every request (seconds
  // at a million records). A record changed after its slice went is in the
  // WAL appends made since, which the snapshot does not drop.
  st.snapshotting = repl_state::snapshot_job{st.next_snapshot_id++, st.store.ids(), 0, st.disk.last()};
  send_snapshot_slice(self);
}

void flush_wal(repl_actor* self) {
  auto& st = self->state;
  st.flush_scheduled = false;
  auto disk = st.names->lookup("replica_disk");
  if (!disk)
    return; // (restarting with us: the next tick tries again)
  auto batch = st.disk.take();
  if (!batch)
    return;
  ++st.wal_appends;
  auto shared = std::make_shared<persistence_batch::append>(std::move(*batch));
  self->request(disk, disk_timeout, disk_append_atom::value, shared->records, st.cfg.durable == durability::fsync)
    .then(
      [self, shared](caf::ok_atom) {
        self->state.disk.written(*shared);
        disk_ok(self);
        release_durable(self);
        // Group commit: what arrived during this append goes in the next.
        if (!self->state.disk_waiters.empty())
          flush_wal(self);
      },
      [self, shared](caf::error& err) {
        self->state.disk.failed(std::move(*shared)); // kept, and tried again next tick
        disk_failed(self, reason_of(self, err));
      });
}

void when_durable(repl_actor* self, std::function<void(const std::string&)> k) {
  auto& st = self->state;
  if (st.cfg.durable != durability::fsync || !st.snapshots)
    return k({}); // memory (or no disk actor): held in memory is enough
  if (!st.disk_error.empty())
    return k(st.disk_error);
  auto seq = st.disk.last();
  if (st.disk.is_durable(seq))
    return k({});
  st.disk_waiters.emplace(seq, std::move(k));
  if (st.disk.in_flight() || st.flush_scheduled)
    return; // that append's answer starts the next
  if (st.cfg.group_commit.count() == 0)
    return flush_wal(self);
  st.flush_scheduled = true;
  self->delayed_send(self, st.cfg.group_commit, repl_flush_atom::value);
}

namespace {

/// The disk's records are in (or could not be read): peers' pulls and syncs
/// that waited for them are answered now.
void finish_load(repl_actor* self) {
  self->state.loaded = true;
  for (auto& k : std::exchange(self->state.after_load, {}))
    k();
}

} // namespace

void load_from_disk(repl_actor* self) {
  auto disk = self->state.names->lookup("replica_disk");
  if (!disk)
    return;
  // What this node held before it stopped (or this actor crashed).
  self->state.loaded = false;
  self->state.snapshots = true;
  self->request(disk, milliseconds{60000}, disk_load_atom::value)
    .then(
      [self](std::vector<record_delta>& ds, bool incomplete) {
        auto& st = self->state;
        for (auto& d : ds)
          absorb(self, d, false, false); // on disk already: not logged again
        if (!ds.empty())
          log::info(st.path, "restored " + std::to_string(st.store.size()) + " record(s) from disk");
        if (incomplete) {
          // Records may be missing or older than acknowledged: each is pulled
          // from the other replicas before this node serves it (one it does
          // not hold at all is pulled anyway), and what is good goes to a
          // fresh snapshot, since the damaged files were moved aside.
          for (auto& id : st.store.ids())
            st.needs_repair.insert(id);
        }
        finish_load(self); // (the peers that asked meanwhile are answered with these records in)
        if (incomplete)
          snapshot(self); // (only once loaded: snapshot() waits for that)
      },
      [self](caf::error& err) {
        finish_load(self);
        log::error(self->state.path, "could not read the replicas on disk: " + self->system().render(err));
      });
}

replication_status status_of(repl_actor* self) {
  auto& st = self->state;
  replication_status out;
  out.node = st.me;
  out.factor = static_cast<uint32_t>(st.cfg.factor);
  out.consistency = to_string(st.cfg.level);
  for (auto& id : st.store.ids()) {
    if (st.store.value(id, field::gone) == "1")
      ++out.tombstones;
    auto p = placement(self, id);
    if (!st.store.live(id) || !is_member_of(p, st.me))
      continue; // a copy left from before a placement change is not counted
    ++out.records;
    if (p.front() == st.me) {
      ++out.primaries;
      out.sessions += is_runtime_record(id) ? 0 : 1;
    }
  }
  out.repairing = st.needs_repair.size() + st.repairing.size();
  out.promotions = st.promotions;
  out.refused_clock_drift = st.refused_clock_drift;
  out.durability = to_string(st.cfg.durable);
  out.disk_error = st.disk_error;
  out.disk_failures = st.disk_failures;
  out.wal_appends = st.wal_appends;
  out.refused_stale = st.refused_stale;
  out.pending_writes = st.writes.size();
  out.sync_pending = st.sync_pending;
  out.caught_up = st.caught_up;
  out.members = st.layout.members;
  for (auto& [m, to] : st.layout.drains)
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

caf::result<caf::ok_atom> drain(repl_actor* self, const std::string& from, const std::string& to, bool all) {
  auto& st = self->state;
  auto m = st.members.find(from);
  if (m == st.members.end())
    return make_error(errc::unknown_node, from + " is not an up member");
  if (!to.empty() && (to == from || !st.members.count(to)))
    return make_error(errc::unknown_node, "--to " + to + " is not another up member");
  auto before = st.layout;
  st.layout.drains[from] = to;
  st.drain_incarnation[from] = m->second.incarnation;
  if (before.drains != st.layout.drains) {
    log::info(st.path, "draining " + from + (to.empty() ? "" : " to " + to) + " (manual failover)");
    rebalance(self, before);
  }
  if (!all)
    return caf::ok_atom::value;
  // Tell every other member; answer once all have it.
  auto rp = self->make_response_promise();
  std::vector<std::string> others;
  for (auto& [name, h] : st.members)
    if (name != st.me)
      others.push_back(name);
  if (others.empty()) {
    rp.deliver(caf::ok_atom::value);
    return rp;
  }
  auto left = std::make_shared<size_t>(others.size());
  auto failed = std::make_shared<std::string>();
  for (auto& name : others) {
    self->request(node_of(self, name), st.cfg.write_timeout, call_atom::value, name, std::string{"replicator"},
                  caf::make_message(repl_drain_atom::value, from, to, false))
      .then(
        [rp, left, failed](caf::ok_atom) mutable {
          if (--*left == 0)
            failed->empty() ? rp.deliver(caf::ok_atom::value) : rp.deliver(make_error(errc::unreachable, *failed));
        },
        [rp, left, failed, name](caf::error&) mutable {
          *failed += (failed->empty() ? "not drained on: " : ", ") + name;
          if (--*left == 0)
            rp.deliver(make_error(errc::unreachable, *failed));
        });
  }
  return rp;
}

caf::result<uint64_t> handoff(repl_actor* self) {
  // On the drained node: send every record to its replicas now, and answer
  // with the count once all of them hold it.
  auto plan = plan_handoff(self->state.store, self->state.me, self->state.layout);
  auto rp = self->make_response_promise();
  if (plan.pushes.empty()) {
    rp.deliver(plan.count);
    return rp;
  }
  auto left = std::make_shared<size_t>(plan.pushes.size());
  auto ok = std::make_shared<bool>(true);
  for (auto& [peer, ids] : plan.pushes)
    push_records(self, peer, ids, [rp, left, ok, count = plan.count](bool fine) mutable {
      *ok = *ok && fine;
      if (--*left == 0)
        *ok ? rp.deliver(count)
            : rp.deliver(make_error(errc::no_quorum, "some records were not acknowledged by their new replicas"));
    });
  return rp;
}

} // namespace cafmcp::cluster::detail
