// The replication rules without actors: write quorum, forwarding, rebalance and catch-up planning, persistence batching, TTL sweep, orphaned tasks.

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <set>

#include <doctest/doctest.h>

#include "cluster/forwarding.hpp"
#include "cluster/orphaned_task.hpp"
#include "cluster/persistence_batch.hpp"
#include "cluster/primacy_claims.hpp"
#include "cluster/placement.hpp"
#include "cluster/rebalance_plan.hpp"
#include "cluster/replica_store.hpp"
#include "protocol/task_record.hpp"
#include "cluster/ttl_sweep.hpp"
#include "cluster/write_quorum.hpp"

using namespace cafmcp::cluster;
using namespace std::chrono_literals;

namespace {

using time_point = std::chrono::steady_clock::time_point;
const time_point t0{}; // the fake clock's start

uint8_t level(consistency c) { return static_cast<uint8_t>(c); }

bool has(const std::vector<std::string>& xs, const std::string& x) {
  return std::find(xs.begin(), xs.end(), x) != xs.end();
}

/// A record in `store` whose fields were written at wall time `wall` (a
/// record exists once it has its created field, as replica_store::live says).
void put(replica_store& store, const std::string& id, uint64_t wall,
         std::map<std::string, std::string> fields = {{field::active, "0"}}) {
  record_delta d;
  d.id = id;
  fields.emplace(field::created, std::to_string(wall));
  for (auto& [k, v] : fields)
    d.fields[k] = field_value{v, hlc_stamp{wall, 0, "n1"}};
  store.merge(d);
}

std::vector<std::string> record_ids(size_t n) {
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i)
    out.push_back("r" + std::to_string(i));
  return out;
}

placement_view layout(std::vector<std::string> members, size_t factor = 2,
                      std::map<std::string, std::string> drains = {}) {
  return placement_view{std::move(members), std::move(drains), factor};
}

size_t count(const std::vector<sweep_step>& steps, sweep_step::kind_t kind, const std::string& id) {
  return std::count_if(steps.begin(), steps.end(), [&](auto& s) { return s.kind == kind && s.id == id; });
}

bool up(const std::string& m) { return m == "n1" || m == "n2"; }

} // namespace

// -- write quorum ----------------------------------------------------------------

TEST_CASE("a local write is acknowledged at once, before any backup answers") {
  write_quorum q{level(consistency::local), 3, 3};
  CHECK(q.ask("n2", t0 + 2s));
  CHECK(q.decide(t0) == write_quorum::outcome::acknowledged);
}

TEST_CASE("a write at level one is acknowledged on the first backup ack") {
  write_quorum q{level(consistency::one), 3, 3};
  q.ask("n2", t0 + 2s);
  q.ask("n3", t0 + 2s);
  CHECK(q.decide(t0) == write_quorum::outcome::pending);
  q.answer("n3", true);
  CHECK(q.decide(t0 + 1ms) == write_quorum::outcome::acknowledged);
}

TEST_CASE("a majority write to three replicas is acknowledged on the second ack, the primary's being the first") {
  write_quorum q{level(consistency::majority), 3, 3};
  CHECK(q.needed_total() == 2);
  q.ask("n2", t0 + 2s);
  q.ask("n3", t0 + 2s);
  CHECK(q.decide(t0) == write_quorum::outcome::pending);
  q.answer("n2", true);
  CHECK(q.decide(t0 + 10ms) == write_quorum::outcome::acknowledged);
}

TEST_CASE("an all write to three replicas waits for both backups") {
  write_quorum q{level(consistency::all), 3, 3};
  q.ask("n2", t0 + 2s);
  q.ask("n3", t0 + 2s);
  q.answer("n2", true);
  CHECK(q.decide(t0 + 10ms) == write_quorum::outcome::pending);
  q.answer("n3", true);
  CHECK(q.decide(t0 + 20ms) == write_quorum::outcome::acknowledged);
}

TEST_CASE("a majority write fails at its deadline when no backup answered") {
  write_quorum q{level(consistency::majority), 3, 3};
  q.ask("n2", t0 + 2s);
  q.ask("n3", t0 + 2s);
  CHECK(q.decide(t0 + 1999ms) == write_quorum::outcome::pending);
  CHECK(q.decide(t0 + 2s) == write_quorum::outcome::failed);
  CHECK(q.acks() == 0);
}

TEST_CASE("an all write fails as soon as every backup has answered without enough acks") {
  write_quorum q{level(consistency::all), 3, 3};
  q.ask("n2", t0 + 2s);
  q.ask("n3", t0 + 2s);
  q.answer("n2", true);
  q.answer("n3", false);
  CHECK(q.decide(t0 + 5ms) == write_quorum::outcome::failed);
  CHECK(q.acks() == 1);
}

TEST_CASE("a duplicate ack from the same backup is not counted twice") {
  write_quorum q{level(consistency::all), 3, 3};
  q.ask("n2", t0 + 2s);
  q.ask("n3", t0 + 2s);
  q.answer("n2", true);
  q.answer("n2", true);
  CHECK(q.acks() == 1);
  CHECK(q.decide(t0 + 5ms) == write_quorum::outcome::pending);
}

TEST_CASE("an ack from a backup never asked is not counted") {
  write_quorum q{level(consistency::one), 3, 3};
  q.ask("n2", t0 + 2s);
  q.answer("n9", true);
  CHECK(q.acks() == 0);
  CHECK(q.decide(t0 + 5ms) == write_quorum::outcome::pending);
}

TEST_CASE("a backup asked again after a placement change is asked only once, a new backup can still ack") {
  write_quorum q{level(consistency::one), 2, 3};
  CHECK(q.ask("n2", t0 + 2s));
  CHECK_FALSE(q.ask("n2", t0 + 3s)); // the first deadline stays
  CHECK(q.ask("n3", t0 + 3s));
  CHECK(q.decide(t0 + 2500ms) == write_quorum::outcome::pending); // n3 may still answer
  q.answer("n3", true);
  CHECK(q.decide(t0 + 2600ms) == write_quorum::outcome::acknowledged);
}

TEST_CASE("a write needing more replicas than are reachable is refused before it is written") {
  write_quorum majority{level(consistency::majority), 3, 3};
  CHECK_FALSE(majority.enough(1));
  CHECK(majority.enough(2));
  write_quorum all{level(consistency::all), 3, 3};
  CHECK_FALSE(all.enough(2));
  write_quorum one{level(consistency::one), 3, 3};
  CHECK_FALSE(one.enough(1));
}

TEST_CASE("the quorum counts min of factor and up members, so a lone member of three cannot reach a majority") {
  CHECK(write_quorum::replicas_needed(level(consistency::majority), 3, 3) == 2); // cut off, the others still up
  CHECK(write_quorum::replicas_needed(level(consistency::majority), 3, 1) == 1); // really alone
  CHECK(write_quorum::replicas_needed(level(consistency::all), 5, 2) == 2);
  CHECK(write_quorum::replicas_needed(level(consistency::one), 2, 0) == 1);
}

// -- forwarding and reroute ------------------------------------------------------

TEST_CASE("an operation is served where it is the primary and forwarded to the primary elsewhere") {
  CHECK(route_of("n1", {"n1", "n2"}, 0, 0).kind == route::serve_here);
  auto r = route_of("n1", {"n2", "n1"}, 0, 0);
  CHECK(r.kind == route::forward);
  CHECK(r.primary == "n2");
  CHECK(route_of("n1", {}, 0, 0).kind == route::no_members);
}

TEST_CASE("an operation forwarded here by a node with another view waits for views to agree before going on") {
  CHECK(route_of("n1", {"n2", "n1"}, 1, 0).kind == route::wait);
  CHECK(route_of("n1", {"n2", "n1"}, 1, max_waits - 1).kind == route::wait);
  auto on = route_of("n1", {"n2", "n1"}, 1, max_waits);
  CHECK(on.kind == route::forward);
  CHECK(on.primary == "n2");
  CHECK(route_of("n1", {"n2", "n1"}, max_hops, max_waits).kind == route::moving);
}

TEST_CASE("a forward held back by the network is refused once its sender may have served it elsewhere") {
  forward_origin op{"n3", 100, 200}; // n3 (incarnation 100) sent it to this node's incarnation 200
  sender_view n3_now{true, true, 100};
  CHECK_FALSE(stale_forward(op, 200, n3_now)); // both as they were: served
  CHECK_FALSE(stale_forward(forward_origin{}, 200, sender_view{})); // not forwarded: served
  // This node was cut off and rejoined as a new incarnation meanwhile.
  CHECK(stale_forward(op, 201, n3_now)->find("earlier incarnation") != std::string::npos);
  // The sender rejoined as a new incarnation (it was fenced or downed).
  CHECK(stale_forward(op, 200, sender_view{true, true, 101})->find("n3 has rejoined") != std::string::npos);
  // This node does not reach the sender (yet): the sender's view may have
  // dropped this node and served the operation at another primary.
  CHECK(stale_forward(op, 200, sender_view{true, false, 100})->find("n3 is unreachable") != std::string::npos);
  CHECK(stale_forward(op, 200, sender_view{})->find("not an up member") != std::string::npos);
}

TEST_CASE("a forward refused unapplied is served again by the node it entered at for a bounded number of ticks - other refusals, and nodes in the middle, pass it back") {
  CHECK(retry_refused_forward(true, 0, 0));
  CHECK(retry_refused_forward(true, 0, max_waits - 1));
  CHECK_FALSE(retry_refused_forward(true, 0, max_waits)); // then the client hears "retry"
  CHECK_FALSE(retry_refused_forward(false, 0, 0));        // e.g. fenced, no quorum: the receiver's answer stands
  CHECK_FALSE(retry_refused_forward(true, 1, 0));         // a node in the middle: its sender decides
}

TEST_CASE("a forward whose primary leaves mid-write is taken back and routed to the new primary") {
  std::string id;
  for (auto& candidate : record_ids(200))
    if (place(candidate, {"n1", "n2", "n3"}, 2).front() == "n2") {
      id = candidate;
      break;
    }
  REQUIRE_FALSE(id.empty());
  pending_forwards<std::string> forwards;
  auto first = route_of("n3", place(id, {"n1", "n2", "n3"}, 2), 0, 0);
  REQUIRE(first.kind == route::forward);
  auto number = forwards.add(first.primary, id);
  forwards.add("n1", "other");
  // n2 dies: its forward comes back, the other stays.
  auto back = forwards.take_departed({"n1", "n3"});
  REQUIRE(back.size() == 1);
  CHECK(back[0].first == "n2");
  CHECK(back[0].second == id);
  CHECK(forwards.size() == 1);
  auto again = route_of("n3", place(id, {"n1", "n3"}, 2), 0, 0);
  CHECK(again.primary != "n2");
  // n2's late answer finds nothing: the operation is answered once.
  CHECK_FALSE(forwards.take(number).has_value());
}

TEST_CASE("a forward whose primary's connection drops waits for a reroute, and fails at its deadline if none comes") {
  using namespace std::chrono_literals;
  pending_forwards<int> forwards;
  auto t0 = std::chrono::steady_clock::time_point{} + 1h;
  auto killed = forwards.add("n2", 1);
  auto blipped = forwards.add("n3", 2);
  CHECK(forwards.park(killed, t0 + 2s));
  CHECK(forwards.park(blipped, t0 + 2s));
  CHECK(forwards.take_expired(t0 + 1s).empty()); // both still wait
  // n2 leaves the view: its forward is taken back to be served again.
  auto back = forwards.take_departed({"n1", "n3"});
  REQUIRE(back.size() == 1);
  CHECK(back[0].second == 1);
  // n3 stayed: its forward fails at the deadline, once.
  auto expired = forwards.take_expired(t0 + 2s);
  REQUIRE(expired.size() == 1);
  CHECK(expired[0].first == "n3");
  CHECK(expired[0].second == 2);
  CHECK(forwards.size() == 0);
  CHECK_FALSE(forwards.park(blipped, t0 + 3s)); // answered already: nothing to park
  // An unparked forward never expires.
  forwards.add("n2", 3);
  CHECK(forwards.take_expired(t0 + 24h).empty());
}

TEST_CASE("a forward answered by its primary is answered once") {
  pending_forwards<int> forwards;
  auto number = forwards.add("n2", 7);
  auto got = forwards.take(number);
  REQUIRE(got.has_value());
  CHECK(*got == 7);
  CHECK_FALSE(forwards.take(number).has_value());
  CHECK(forwards.take_departed({}).empty());
}

// -- rebalance and catch-up planning ---------------------------------------------

TEST_CASE("catch-up sends only the records the member lacks or holds in an older version") {
  replica_store store;
  put(store, "same", 100);
  put(store, "newer", 200);
  put(store, "missing", 100);
  record_digest have{{"same", hlc_stamp{100, 0, "n1"}}, {"newer", hlc_stamp{150, 0, "n1"}},
                     {"theirs_only", hlc_stamp{100, 0, "n2"}}};
  auto out = records_to_send(store, "n2", have, layout({"n1", "n2"}));
  std::sort(out.begin(), out.end());
  CHECK(out == std::vector<std::string>{"missing", "newer"});
}

TEST_CASE("catch-up sends nothing of the records the member does not replicate") {
  replica_store store;
  auto members = std::vector<std::string>{"n1", "n2", "n3", "n4"};
  for (auto& id : record_ids(100))
    put(store, id, 100);
  auto out = records_to_send(store, "n4", {}, layout(members));
  size_t expected = 0;
  for (auto& id : record_ids(100))
    if (has(place(id, members, 2), "n4")) {
      ++expected;
      CHECK(has(out, id));
    }
  CHECK(out.size() == expected);
  CHECK(expected < 100);
}

TEST_CASE("the digest holds the newest stamp of every record") {
  replica_store store;
  put(store, "a", 100);
  put(store, "a", 300, {{field::data("k"), "v"}});
  put(store, "b", 50);
  auto d = digest_of(store);
  CHECK(d.size() == 2);
  CHECK(d["a"].wall_ms == 300);
  CHECK(d["b"].wall_ms == 50);
}

TEST_CASE("when a member leaves, the node that becomes primary of its records pulls them before serving") {
  replica_store store;
  for (auto& id : record_ids(300))
    put(store, id, 100);
  auto before = layout({"n1", "n2", "n3"});
  auto now = layout({"n1", "n3"});
  auto plan = plan_rebalance(store, "n1", before, now);
  size_t expected = 0;
  for (auto& id : record_ids(300)) {
    bool led_before = place(id, before.members, 2).front() == "n1";
    bool leads_now = place(id, now.members, 2).front() == "n1";
    CHECK(has(plan.newly_led, id) == (leads_now && !led_before));
    if (leads_now && !led_before)
      ++expected;
  }
  CHECK(expected > 0);
  CHECK(plan.promoted == expected); // every one of them was led by n2, which is gone
}

TEST_CASE("a joining member gets a copy of every record it now replicates, and nothing else") {
  replica_store store;
  for (auto& id : record_ids(300))
    put(store, id, 100);
  auto before = layout({"n1", "n2"});
  auto now = layout({"n1", "n2", "n3"});
  auto plan = plan_rebalance(store, "n1", before, now);
  auto& to_n3 = plan.pushes["n3"];
  CHECK(std::is_sorted(to_n3.begin(), to_n3.end()));
  for (auto& id : record_ids(300))
    CHECK(has(to_n3, id) == has(place(id, now.members, 2), "n3"));
  CHECK(plan.newly_led.empty());
  CHECK(plan.promoted == 0);
}

TEST_CASE("after a partition heals, or after this node rejoined, its copies may have missed writes - not after a restart elsewhere") {
  auto m = [](uint64_t incarnation, bool reachable) { return member_handle{"", {}, incarnation, reachable}; };
  std::map<std::string, member_handle> cut{{"n1", m(10, true)}, {"n2", m(20, false)}, {"n3", m(30, true)}};
  std::map<std::string, member_handle> healed{{"n1", m(10, true)}, {"n2", m(20, true)}, {"n3", m(30, true)}};
  auto back = missed_writes(cut, healed, "n1");
  REQUIRE(back);
  CHECK_FALSE(back->rejoined);
  CHECK(back->why == "n2 is reachable again");
  // n2 restarted or was fenced: a new incarnation acknowledged nothing meanwhile.
  std::map<std::string, member_handle> restarted{{"n1", m(10, true)}, {"n2", m(21, true)}, {"n3", m(30, true)}};
  CHECK_FALSE(missed_writes(cut, restarted, "n1"));
  // This node was cut off and rejoined as a new incarnation.
  std::map<std::string, member_handle> me_again{{"n1", m(11, true)}, {"n2", m(20, true)}, {"n3", m(30, true)}};
  auto rejoined = missed_writes(healed, me_again, "n1");
  REQUIRE(rejoined);
  CHECK(rejoined->rejoined);
  // Nothing changed, or a member became unreachable: nothing missed yet.
  CHECK_FALSE(missed_writes(healed, healed, "n1"));
  CHECK_FALSE(missed_writes(healed, cut, "n1"));
}

TEST_CASE("a drained node hands every live record to its replicas and counts them") {
  replica_store store;
  put(store, "a", 100);
  put(store, "b", 100);
  put(store, "gone", 100, {{field::gone, "1"}});
  auto plan = plan_handoff(store, "n1", layout({"n1", "n2", "n3"}, 2, {{"n1", ""}}));
  CHECK(plan.count == 2);
  size_t sent = 0;
  for (auto& [peer, ids] : plan.pushes) {
    CHECK(peer != "n1");
    CHECK_FALSE(has(ids, "gone"));
    sent += ids.size();
  }
  CHECK(sent == 4); // two records, two replicas each
}

TEST_CASE("a record migrated to a member is led by that member while it takes records") {
  replica_store store;
  std::string id;
  for (auto& candidate : record_ids(200))
    if (place(candidate, {"n1", "n2", "n3"}, 2).front() != "n3") {
      id = candidate;
      break;
    }
  REQUIRE_FALSE(id.empty());
  put(store, id, 100, {{field::pin, "n3"}});
  auto p = place_record(store, id, layout({"n1", "n2", "n3"}));
  CHECK(p.front() == "n3");
  CHECK(p.size() == 2);
  CHECK(place_record(store, id, layout({"n1", "n2", "n3"}, 2, {{"n3", ""}})).front() != "n3");
  CHECK(place_record(store, id, layout({"n1", "n2"})).front() != "n3");
}

// -- persistence batching --------------------------------------------------------

TEST_CASE("changes collect in the WAL batch - one append is on its way at a time, and it makes its changes durable") {
  persistence_batch batch{60s, t0};
  CHECK_FALSE(batch.take());
  auto a = batch.changed(record_delta{"a", {}});
  auto b = batch.changed(record_delta{"b", {}});
  CHECK(b > a);
  CHECK_FALSE(batch.is_durable(a));
  auto first = batch.take();
  REQUIRE(first);
  REQUIRE(first->records.size() == 2);
  CHECK(first->records[0].id == "a");
  CHECK(first->upto == b);
  // Group commit: what changes while the append is on the disk waits for the next one.
  auto c = batch.changed(record_delta{"c", {}});
  CHECK(batch.in_flight());
  CHECK_FALSE(batch.take());
  batch.written(*first);
  CHECK(batch.is_durable(b));
  CHECK_FALSE(batch.is_durable(c));
  auto second = batch.take();
  REQUIRE(second);
  CHECK(second->records.size() == 1);
  batch.written(*second);
  CHECK(batch.is_durable(c));
  CHECK(batch.is_durable(batch.last()));
}

TEST_CASE("an append the disk refused is written again, before the changes that came after it") {
  persistence_batch batch{60s, t0};
  batch.changed(record_delta{"a", {}});
  auto first = batch.take();
  REQUIRE(first);
  batch.changed(record_delta{"b", {}});
  batch.failed(std::move(*first));
  CHECK_FALSE(batch.in_flight());
  CHECK_FALSE(batch.is_durable(1));
  auto again = batch.take();
  REQUIRE(again);
  REQUIRE(again->records.size() == 2);
  CHECK(again->records[0].id == "a");
  CHECK(again->records[1].id == "b");
  CHECK(again->upto == 2);
  batch.written(*again);
  CHECK(batch.is_durable(2));
}

TEST_CASE("a snapshot is due after the interval, and one on disk makes every change before it durable") {
  persistence_batch batch{60s, t0};
  CHECK_FALSE(batch.snapshot_due(t0 + 59s));
  CHECK(batch.snapshot_due(t0 + 60s));
  auto a = batch.changed(record_delta{"a", {}});
  batch.snapshot_taken(t0 + 61s);
  CHECK_FALSE(batch.snapshot_due(t0 + 120s));
  CHECK(batch.snapshot_due(t0 + 121s));
  CHECK_FALSE(batch.is_durable(a));
  batch.covered(a);
  CHECK(batch.is_durable(a));
  batch.snapshot_failed(t0 + 200s); // tried again soon, not an interval later
  CHECK_FALSE(batch.snapshot_due(t0 + 200s));
  CHECK(batch.snapshot_due(t0 + 201s));
}

// -- TTL sweep -------------------------------------------------------------------

TEST_CASE("the sweep expires a record it leads once its TTL has run out since its last activity") {
  replica_store store;
  put(store, "s", 1000, {{field::active, "1000"}, {field::ttl, "500"}});
  auto leads = [](const std::string&) { return true; };
  CHECK(count(plan_sweep(store, 1499, 60s, leads), sweep_step::expire, "s") == 0);
  auto steps = plan_sweep(store, 1500, 60s, leads);
  CHECK(count(steps, sweep_step::led, "s") == 1);
  CHECK(count(steps, sweep_step::expire, "s") == 1);
}

TEST_CASE("the sweep leaves records it does not lead and records without a TTL") {
  replica_store store;
  put(store, "theirs", 1000, {{field::active, "0"}, {field::ttl, "1"}});
  put(store, "forever", 1000, {{field::active, "0"}, {field::ttl, "0"}});
  auto steps = plan_sweep(store, 100000, 60s, [](const std::string& id) { return id != "theirs"; });
  CHECK(count(steps, sweep_step::expire, "theirs") == 0);
  CHECK(count(steps, sweep_step::led, "theirs") == 0);
  CHECK(count(steps, sweep_step::expire, "forever") == 0);
  CHECK(count(steps, sweep_step::led, "forever") == 1);
}

TEST_CASE("a sweep over a slice looks at those records only and skips the ones forgotten since") {
  replica_store store;
  put(store, "a", 1000, {{field::active, "0"}, {field::ttl, "1"}});
  put(store, "b", 1000, {{field::active, "0"}, {field::ttl, "1"}});
  auto leads = [](const std::string&) { return true; };
  auto steps = plan_sweep(store, std::vector<std::string>{"b", "gone-meanwhile"}, 100000, 60s, leads);
  CHECK(count(steps, sweep_step::expire, "b") == 1);
  CHECK(count(steps, sweep_step::expire, "a") == 0);
  CHECK(steps.size() == 2); // b: led and expire; nothing for the id no longer held
}

TEST_CASE("a tombstone is forgotten only after it was kept for the tombstone TTL") {
  replica_store store;
  put(store, "deleted", 1000, {{field::gone, "1"}});
  auto leads = [](const std::string&) { return true; };
  CHECK(count(plan_sweep(store, 1000 + 5000, 5s, leads), sweep_step::forget, "deleted") == 0);
  auto steps = plan_sweep(store, 1001 + 5000, 5s, leads);
  CHECK(count(steps, sweep_step::forget, "deleted") == 1);
  CHECK(count(steps, sweep_step::led, "deleted") == 0);
  // The default keeps a deletion a day, far longer than any replica stays away.
  CHECK(count(plan_sweep(store, 1001 + 60000, 24h, leads), sweep_step::forget, "deleted") == 0);
}

TEST_CASE("a copy of a record this node lacks is refused once it is older than the tombstone TTL") {
  replica_store store;
  record_delta copy;
  copy.id = "h";
  copy.fields[field::created] = field_value{"1000", hlc_stamp{1000, 0, "n3"}};
  copy.fields[field::data("k")] = field_value{"v", hlc_stamp{2000, 0, "n3"}};
  // Judged by its newest field: the deletion that might have followed it is
  // forgotten by then (the sweep's comparison, so the two never leave a gap).
  CHECK_FALSE(refuse_stale_copy(store, copy, 2000 + 5000, 5s));
  CHECK(refuse_stale_copy(store, copy, 2001 + 5000, 5s));
  // The tombstone still held here: merged (and deleted) as usual.
  put(store, "h", 3000, {{field::gone, "1"}});
  CHECK_FALSE(refuse_stale_copy(store, copy, 2001 + 5000, 5s));
  store.merge(copy);
  CHECK_FALSE(store.live("h"));
}

TEST_CASE("a recent copy of a record this node lacks is taken - a new replica gets its records") {
  replica_store store;
  record_delta copy;
  copy.id = "h";
  copy.fields[field::created] = field_value{"1000", hlc_stamp{1000, 0, "n3"}};
  CHECK_FALSE(refuse_stale_copy(store, copy, 1000 + 60000, 24h));
}

// -- orphaned tasks --------------------------------------------------------------

TEST_CASE("a working task whose owner has left is orphaned and reported once") {
  orphan_detector orphans;
  std::string info = R"({"kind":"task","owner":"n3","tool":"sleep"})";
  std::string state = R"({"status":"working"})";
  auto owner = orphans.check("t1", info, state, "n1", up);
  REQUIRE(owner.has_value());
  CHECK(*owner == "n3");
  CHECK_FALSE(orphans.check("t1", info, state, "n1", up).has_value());
}

TEST_CASE("a working task is orphaned when its owner is this node, not when its owner is another up member") {
  std::string state = R"({"status":"working"})";
  CHECK_FALSE(orphaned_task_owner(R"({"kind":"task","owner":"n2","tool":"sleep"})", state, "n1", up).has_value());
  CHECK(orphaned_task_owner(R"({"kind":"task","owner":"n1","tool":"sleep"})", state, "n1", up).has_value());
}

TEST_CASE("a finished task, a record that is not a task and unreadable JSON are never orphaned") {
  CHECK_FALSE(orphaned_task_owner(R"({"kind":"task","owner":"n3","tool":"sleep"})", R"({"status":"completed"})", "n1", up).has_value());
  CHECK_FALSE(orphaned_task_owner(R"({"kind":"session","owner":"n3","note":"task"})", R"({"status":"working"})",
                                  "n1", up).has_value());
  CHECK_FALSE(orphaned_task_owner(R"({"kind":"task")", R"({"status":"working"})", "n1", up).has_value());
  CHECK_FALSE(orphaned_task_owner(R"({"kind":"task","owner":"n3","tool":"sleep"})", "", "n1", up).has_value());
  CHECK(cafmcp::protocol::working_task_owner(R"({"kind":"task","owner":"n3","tool":"sleep"})", R"({"status":"working"})") == "n3");
}

// -- primacy claims ----------------------------------------------------------------

namespace {

/// Incarnations as a node knows its up members (absent: not an up member).
struct fake_members {
  std::map<std::string, uint64_t> up;
  uint64_t operator()(const std::string& name) const {
    auto i = up.find(name);
    return i == up.end() ? 0 : i->second;
  }
};

} // namespace

TEST_CASE("a member that pulled a record to lead it holds it until the claim's deadline") {
  primacy_claims claims;
  fake_members members{{{"n3", 7}}};
  claims.claim("s1", "n3", 7, t0 + 2s);
  CHECK(claims.holder("s1", t0 + 1s, members) == std::optional<std::string>{"n3"});
  CHECK_FALSE(claims.holder("s2", t0 + 1s, members));
  CHECK_FALSE(claims.holder("s1", t0 + 2s, members));
  claims.expire(t0 + 2s);
  CHECK(claims.size() == 0);
}

TEST_CASE("a claim ends when its claimant leaves or comes back as a new incarnation") {
  primacy_claims claims;
  claims.claim("s1", "n3", 7, t0 + 2s);
  CHECK_FALSE(claims.holder("s1", t0, fake_members{}));
  CHECK_FALSE(claims.holder("s1", t0, fake_members{{{"n3", 8}}}));
  CHECK(claims.holder("s1", t0, fake_members{{{"n3", 7}}}));
}

TEST_CASE("a claim ends when its claimant sends an operation on the record, and only its own claim") {
  primacy_claims claims;
  fake_members members{{{"n2", 1}, {"n3", 1}}};
  claims.claim("s1", "n3", 1, t0 + 2s);
  claims.drop("s1", "n2"); // not n2's claim
  CHECK(claims.holder("s1", t0, members) == std::optional<std::string>{"n3"});
  claims.drop("s1", "n3");
  CHECK_FALSE(claims.holder("s1", t0, members));
}

TEST_CASE("a later pull of a record replaces the earlier claim on it") {
  primacy_claims claims;
  fake_members members{{{"n2", 1}, {"n3", 1}}};
  claims.claim("s1", "n3", 1, t0 + 2s);
  claims.claim("s1", "n2", 1, t0 + 3s);
  CHECK(claims.holder("s1", t0 + 2500ms, members) == std::optional<std::string>{"n2"});
  claims.expire(t0 + 2500ms);
  CHECK(claims.size() == 1);
}

TEST_CASE("an isolated node does not vouch for its copy while another replica is cut off - the majority side serves after reading what it reaches") {
  std::vector<std::string> known{"n1", "n2", "n3"};
  // n2 alone, not yet fenced: it leads everything in its view.
  placement_view alone{{"n2"}, {}, 2};
  std::string id;
  for (int i = 0; id.empty() && i < 100; ++i) {
    auto candidate = "h" + std::to_string(i);
    auto replicas = place(candidate, known, 2);
    if (std::find(replicas.begin(), replicas.end(), "n2") != replicas.end())
      id = candidate; // a record n2 replicates with a member it does not reach
  }
  REQUIRE_FALSE(id.empty());
  auto other = place(id, known, 2)[0] == "n2" ? place(id, known, 2)[1] : place(id, known, 2)[0];
  CHECK(repair_blocker(id, true, "n2", known, alone) == other);
  // On the majority side the copy is served once read from n3.
  placement_view majority{{"n2", "n3"}, {}, 2};
  CHECK(repair_blocker(id, true, "n2", known, majority).empty());
  // A record not held here may be held by anyone cut off, on either side.
  CHECK(repair_blocker(id, false, "n2", known, majority) == "n1");
  CHECK(repair_blocker(id, false, "n2", known, alone) == "n1");
  // Everyone reached: nothing blocks.
  placement_view all{{"n1", "n2", "n3"}, {}, 2};
  CHECK(repair_blocker(id, false, "n2", known, all).empty());
  CHECK(repair_blocker(id, true, "n2", known, all).empty());
  // Half of four is no majority either: a replica among the two cut off blocks.
  std::vector<std::string> four{"n1", "n2", "n3", "n4"};
  std::string blocked;
  for (auto& r : place(id, four, 2))
    if (r == "n1" || r == "n4")
      blocked = blocked.empty() ? r : blocked;
  CHECK(repair_blocker(id, true, "n2", four, majority) == blocked);
  placement_view three_of_four{{"n1", "n2", "n3"}, {}, 2};
  CHECK(repair_blocker(id, true, "n2", four, three_of_four).empty());
}
