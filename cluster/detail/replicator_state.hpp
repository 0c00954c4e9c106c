#pragma once
// The replicator actor's state and the steps its translation units share (CAF-heavy: only the replicator's .cpp files include it).

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "actors/name_table.hpp"
#include "cluster/forwarding.hpp"
#include "cluster/hlc.hpp"
#include "cluster/orphaned_task.hpp"
#include "cluster/persistence_batch.hpp"
#include "cluster/primacy_claims.hpp"
#include "cluster/record_placement.hpp"
#include "cluster/replica_store.hpp"
#include "cluster/replicator.hpp"
#include "cluster/write_quorum.hpp"

namespace cafmcp::cluster::detail {

using clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

using repl_tick_atom = caf::atom_constant<caf::atom("rp_tick")>;
using repl_sweep_atom = caf::atom_constant<caf::atom("rp_sweep")>;
using repl_local_atom = caf::atom_constant<caf::atom("rp_local")>; // serve a routed op, answer the router
using repl_flush_atom = caf::atom_constant<caf::atom("rp_flush")>; // the group commit window is over

constexpr size_t push_batch = 256;        // records per push message
constexpr milliseconds renew_every{1000}; // reads renew last activity at most this often
constexpr milliseconds disk_timeout{30000}; // a disk that takes longer has failed
constexpr size_t background_repairs = 64;  // records the tick pulls at once (repair_in_background)
constexpr int repair_attempts = 3;         // pulls of one peer within one repair (write_timeout in all)
constexpr size_t snapshot_slice = 8192;     // records per message of a periodic snapshot
constexpr size_t sweep_slice = 1024;        // records one sweep looks at (about a millisecond), so requests wait little
constexpr milliseconds sweep_gap{20};       // between the slices of one pass over the store

struct write_wait {
  std::optional<caf::response_promise> rp; // none: a write nobody waits for (renewal, expiry)
  session_op op;
  actors::session_record result;
  record_delta delta; // what the backups are sent
  write_quorum quorum;
  bool durable = true; // this node's copy is on disk (durability fsync: false until the WAL says so)
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
  trace::span hop; // the cross-node hop (tracing on and the op traced)
};

/// A backup's cut on this member (replicator_backup.cpp).
struct cut_job {
  std::string id;
  std::vector<std::string> ids; // once listed: the records this member leads that were live at the cut, sorted
  bool listed = false;
  std::string layout;           // placement's members when listed
  clock::time_point used;       // a cut unused for cut_idle ends by itself (its reader went away)
};

constexpr milliseconds cut_idle{60000};

struct repl_state {
  replication_config cfg;
  std::string me;
  std::shared_ptr<cluster_view> view;
  std::shared_ptr<actors::name_table> names;
  std::string path;
  replica_store store;
  hlc_clock hlc{""};
  std::map<std::string, member_handle> members; // up members (reachable or not), by name
  placement_view layout;                        // the reachable members (they hold placement) and drains
  std::map<std::string, uint64_t> drain_incarnation;
  std::map<uint64_t, write_wait> writes;
  uint64_t next_write = 0;
  pending_forwards<forward_wait> forwards; // operations at another primary
  std::vector<queued_op> waiting;          // forwarded here, but this node does not lead them (yet)
  std::set<std::string> needs_repair;                      // pull before serving
  std::map<std::string, std::vector<queued_op>> repairing; // pulls under way, with waiting ops
  primacy_claims claims; // records other members pulled from here to lead them
  std::map<std::string, peer_stats> stats;
  uint64_t promotions = 0;
  uint64_t refused_clock_drift = 0; // copies refused: stamped too far ahead (absorb)
  uint64_t refused_stale = 0;       // copies refused: possibly deleted, tombstone forgotten (absorb)
  bool members_known = false;
  bool reading_members = false; // a members request is under way
  uint64_t unfenced_seen = 0;   // view->unfenced_count() when the members were last read
  /// Until then the members' views may disagree (a change, a heal): every
  /// operation at a primary first reads the record from the members it
  /// reaches, since the last write may have gone to another primary.
  clock::time_point unsettled_until{};
  persistence_batch disk;  // changes for replica_disk's WAL, and when a snapshot is due
  bool snapshots = false;  // replica_disk ran at start: snapshot at the interval
  std::multimap<uint64_t, std::function<void(const std::string&)>> disk_waiters; // by change number
  bool flush_scheduled = false; // a group commit window is open
  std::string disk_error;       // why the last append or snapshot failed ("" while the disk works)
  uint64_t disk_failures = 0;
  uint64_t wal_appends = 0;
  orphan_detector orphans; // task records handed to on_orphaned_task
  bool loaded = true;        // what replica_disk held is in the store (catch up only then)
  std::vector<std::function<void()>> after_load; // peers' pulls and syncs that came before it
  uint32_t sync_pending = 0; // catch-up answers still due
  uint64_t caught_up = 0;
  std::optional<cut_job> cut; // a backup reading this member's records as of one stamp
  struct snapshot_job {
    uint64_t id = 0;
    std::vector<std::string> ids; // the store's records when it began
    size_t next = 0;              // the next slice starts here
    uint64_t upto = 0;            // every change up to this one is in it
  };
  std::optional<snapshot_job> snapshotting; // a periodic snapshot on its way to the disk, slice by slice
  uint64_t next_snapshot_id = 1;
  std::vector<std::string> sweep_ids; // the pass over the store under way (sweep)
  size_t sweep_next = 0;              // the next slice starts here
};

using repl_actor = caf::stateful_actor<repl_state>;

inline std::vector<std::string> placement(repl_actor* self, const std::string& id) {
  return place_record(self->state.store, id, self->state.layout);
}

inline caf::actor node_of(repl_actor* self, const std::string& name) {
  auto i = self->state.members.find(name);
  return i == self->state.members.end() ? caf::actor{} : i->second.node;
}

/// May a call to member `peer` go (its breaker; always without breakers)?
inline actors::breaker_verdict peer_allows(repl_actor* self, const std::string& peer) {
  auto& b = self->state.cfg.breakers;
  return b ? b->allow(actors::peer_breaker(peer), std::chrono::steady_clock::now()) : actors::breaker_verdict{};
}

/// Tells member `peer`'s breaker how a call to it ended (`err` empty: it
/// answered). Only silence counts against it: an error it sent is an answer.
inline void record_peer(repl_actor* self, const std::string& peer, const caf::error& err = {}) {
  if (auto& b = self->state.cfg.breakers)
    b->record(actors::peer_breaker(peer), err != caf::sec::request_timeout && err != caf::sec::request_receiver_down,
              std::chrono::steady_clock::now());
}

/// The up member on `node` ("" for none: not a member, or this node).
inline std::string member_on(repl_actor* self, const caf::node_id& node) {
  for (auto& [name, m] : self->state.members)
    if (m.node && m.node.node() == node)
      return name;
  return {};
}

/// The member, other than this node, whose claim on `id` holds now. Only a
/// reachable claimant counts: one this node no longer reaches (killed, cut
/// off) serves nobody through here, and its side is fenced if it is cut off.
inline std::optional<std::string> claimed_by(repl_actor* self, const std::string& id) {
  auto& st = self->state;
  return st.claims.holder(id, clock::now(), [&st](const std::string& name) {
    auto m = st.members.find(name);
    return m == st.members.end() || !m->second.reachable ? uint64_t{0} : m->second.incarnation;
  });
}

inline bool is_member_of(const std::vector<std::string>& xs, const std::string& x) {
  return std::find(xs.begin(), xs.end(), x) != xs.end();
}

// replicator_writes.cpp: serving operations at the primary, forwarding.
void serve(repl_actor* self, session_op op, caf::response_promise rp, bool repaired = false);
void write(repl_actor* self, const session_op& op, record_delta d, std::optional<caf::response_promise> rp,
           const std::vector<std::string>& replicas);
record_delta delta_of(repl_actor* self, const std::string& id,
                      std::initializer_list<std::pair<std::string, std::string>> fields);
/// Merges a copy from another replica; false (and counted) if it is stamped
/// more than max_clock_drift_ms ahead of our clock. A copy refused by
/// refuse_stale_copy (ttl_sweep.hpp) is dropped and counted, but true.
/// `restored`: a copy from a backup, taken however old it is.
/// `log_to_disk` false: this node's own disk's records (on disk already).
bool absorb(repl_actor* self, const record_delta& d, bool restored = false, bool log_to_disk = true);
void reroute(repl_actor* self);
void expire_forwards(repl_actor* self);
/// Read repair: pulls `id` from every other reachable member, then serves
/// the ops waiting for it (`first`, and any queued meanwhile). A member that
/// left the layout counts as holding nothing; one still reachable that does
/// not answer (after retries) fails the ops with a retryable error and
/// keeps the record in needs_repair.
void repair(repl_actor* self, const std::string& id, std::optional<queued_op> first);
/// From the tick: repairs records this node leads and has not repaired yet
/// (at most background_repairs at once), so that expiry and orphaned-task
/// takeover apply to them with no client touching them (the sweep skips
/// records awaiting repair).
void repair_in_background(repl_actor* self);
void widen_writes(repl_actor* self);
int64_t wall_ms();

// replicator_sync.cpp: copies between replicators, membership, sweep, disk.
/// Sends copies to `peer`; `primary_write`: a primary's write that counts
/// towards its quorum (a peer refuses it for a record another member has
/// taken over, see primacy_claims).
void send_apply(repl_actor* self, const std::string& peer, std::vector<record_delta> ds,
                std::function<void(bool)> done, bool primary_write = false, bool restored = false);
void push_records(repl_actor* self, const std::string& peer, const std::vector<std::string>& ids,
                  std::function<void(bool)> done);
void rebalance(repl_actor* self, const placement_view& before);
void update_members(repl_actor* self, std::vector<member_handle>& ms);
/// Asks the node actor for the members (unless a request is under way),
/// then serves the operations that waited.
void read_members(repl_actor* self);
/// Marks every record this node leads to be read from the other replicas
/// before it is served again (it may have missed writes: `why`).
void mark_led_for_repair(repl_actor* self, const std::string& why);
/// One slice of the pass over the store (expiry, forgotten tombstones,
/// orphaned tasks); true while the pass has slices left.
bool sweep(repl_actor* self);
/// The whole store to a snapshot (`stopping`: sent, nobody waits).
void snapshot(repl_actor* self, bool stopping = false);
/// Sends the pending changes to the WAL (one append on its way at a time).
void flush_wal(repl_actor* self);
/// Calls `k` once this node's changes so far are on disk ("" ) or cannot be
/// (the reason). With durability memory at once.
void when_durable(repl_actor* self, std::function<void(const std::string&)> k);
void load_from_disk(repl_actor* self);
replication_status status_of(repl_actor* self);
caf::result<caf::ok_atom> drain(repl_actor* self, const std::string& from, const std::string& to, bool all);
caf::result<uint64_t> handoff(repl_actor* self);

// replicator_backup.cpp: backups' cuts and restores.
caf::result<caf::ok_atom> begin_cut(repl_actor* self, std::string id, const hlc_stamp& at);
caf::result<cut_part> list_cut(repl_actor* self, const std::string& id);
caf::result<std::vector<record_delta>> cut_page(repl_actor* self, const std::string& id, uint64_t from, uint32_t max);
caf::result<cut_part> end_cut(repl_actor* self, const std::string& id);
/// From the tick: ends a cut nobody read for cut_idle.
void expire_cut(repl_actor* self);
caf::result<std::vector<std::string>> prepare_restore(repl_actor* self);
/// Sends each record to every replica placement names and answers once all
/// of them hold it (on disk, durability fsync), or with the members that did not.
caf::result<uint64_t> restore_batch(repl_actor* self, std::vector<record_delta> ds, bool overwrite);

} // namespace cafmcp::cluster::detail
