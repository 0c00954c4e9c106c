// The pure parts of replication: placement (rendezvous hashing), the
// hybrid logical clock and the last-write-wins record store.

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include "cluster/hlc.hpp"
#include "cluster/placement.hpp"
#include "cluster/replica_disk.hpp"
#include "cluster/replica_store.hpp"

using namespace cafmcp::cluster;

namespace {

std::vector<std::string> ids(size_t n) {
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i)
    out.push_back("session-" + std::to_string(i));
  return out;
}

field_value at(std::string value, uint64_t wall, uint32_t logical, std::string node) {
  return field_value{std::move(value), hlc_stamp{wall, logical, std::move(node)}};
}

} // namespace

TEST_CASE("placement gives every record factor distinct replicas, the same on every node whatever the member order") {
  std::vector<std::string> a{"n1", "n2", "n3", "n4", "n5"};
  std::vector<std::string> b{"n4", "n2", "n5", "n1", "n3"};
  for (auto& id : ids(500)) {
    auto p = place(id, a, 3);
    CHECK(p == place(id, b, 3));
    REQUIRE(p.size() == 3);
    CHECK(std::set<std::string>(p.begin(), p.end()).size() == 3);
  }
  CHECK(place("x", {"n1"}, 2) == std::vector<std::string>{"n1"});
  CHECK(place("x", {}, 2).empty());
}

TEST_CASE("placement spreads primaries evenly over the members") {
  std::vector<std::string> members{"n1", "n2", "n3"};
  std::map<std::string, size_t> primaries;
  for (auto& id : ids(3000))
    ++primaries[place(id, members, 2).front()];
  for (auto& m : members) {
    CHECK(primaries[m] > 800);
    CHECK(primaries[m] < 1200);
  }
}

TEST_CASE("when a member leaves, its records' first backup becomes primary and no other record moves") {
  std::vector<std::string> all{"n1", "n2", "n3", "n4"};
  std::vector<std::string> without{"n1", "n3", "n4"};
  for (auto& id : ids(1000)) {
    auto before = place(id, all, 2);
    auto after = place(id, without, 2);
    if (before.front() == "n2")
      CHECK(after.front() == before[1]);
    else
      CHECK(after.front() == before.front());
    if (std::find(before.begin(), before.end(), "n2") == before.end())
      CHECK(after == before);
  }
}

TEST_CASE("a joining member takes about a third of the primaries of a 3-node cluster and leaves the rest") {
  std::vector<std::string> three{"n1", "n2", "n3"};
  std::vector<std::string> four{"n1", "n2", "n3", "n4"};
  size_t moved = 0;
  for (auto& id : ids(2000)) {
    auto before = place(id, three, 2).front();
    auto after = place(id, four, 2).front();
    if (before != after) {
      CHECK(after == "n4");
      ++moved;
    }
  }
  CHECK(moved > 350);
  CHECK(moved < 650);
}

TEST_CASE("a drained member holds no placement and its primaries go to the named target") {
  std::vector<std::string> members{"n1", "n2", "n3"};
  std::map<std::string, std::string> to_n3{{"n1", "n3"}};
  std::map<std::string, std::string> anywhere{{"n1", ""}};
  for (auto& id : ids(500)) {
    auto plain = place(id, members, 2);
    auto drained = place(id, members, 2, anywhere);
    CHECK(std::find(drained.begin(), drained.end(), "n1") == drained.end());
    CHECK(drained.size() == 2);
    auto targeted = place(id, members, 2, to_n3);
    CHECK(std::find(targeted.begin(), targeted.end(), "n1") == targeted.end());
    if (plain.front() == "n1")
      CHECK(targeted.front() == "n3");
    else
      CHECK(targeted.front() == plain.front());
  }
}

TEST_CASE("write consistency needs 1, 2, a majority or all of the replicas") {
  using c = consistency;
  auto n = [](c level, size_t factor) { return replicas_needed(static_cast<uint8_t>(level), factor); };
  CHECK(n(c::local, 3) == 1);
  CHECK(n(c::one, 3) == 2);
  CHECK(n(c::one, 1) == 1);
  CHECK(n(c::majority, 1) == 1);
  CHECK(n(c::majority, 2) == 2);
  CHECK(n(c::majority, 3) == 2);
  CHECK(n(c::majority, 5) == 3);
  CHECK(n(c::all, 3) == 3);
  consistency parsed;
  CHECK(parse_consistency("all", parsed));
  CHECK(parsed == c::all);
  CHECK_FALSE(parse_consistency("quorum", parsed));
}

TEST_CASE("the hybrid logical clock never goes backwards and orders a stamp it observed before its own next one") {
  hlc_clock slow{"b", -60000}; // a minute behind
  hlc_clock fast{"a", 60000};  // a minute ahead
  auto t1 = slow.now();
  auto t2 = slow.now();
  CHECK(t1 < t2);
  auto remote = fast.now();
  CHECK(t2 < remote);
  slow.observe(remote);
  auto t3 = slow.now();
  CHECK(remote < t3); // causally after, although its wall clock is behind
  for (int i = 0; i < 1000; ++i) {
    auto next = slow.now();
    CHECK(t3 < next);
    t3 = next;
  }
}

TEST_CASE("replicas that merge the same writes in any order hold the same record (last write wins per field)") {
  std::vector<record_delta> writes;
  std::mt19937 rng{42};
  for (uint32_t i = 0; i < 200; ++i) {
    record_delta d;
    d.id = "s";
    auto key = "d:k" + std::to_string(rng() % 7);
    d.fields[key] = at("v" + std::to_string(i), 1000 + rng() % 50, rng() % 3, rng() % 2 ? "n1" : "n2");
    d.fields[field::created] = at("1", 1, 0, "n1");
    writes.push_back(d);
  }
  replica_store in_order;
  for (auto& w : writes)
    in_order.merge(w);
  for (int round = 0; round < 5; ++round) {
    std::shuffle(writes.begin(), writes.end(), rng);
    replica_store shuffled;
    for (auto& w : writes)
      shuffled.merge(w);
    CHECK(shuffled.full("s").fields.size() == in_order.full("s").fields.size());
    for (auto& [k, v] : in_order.full("s").fields) {
      CHECK(shuffled.value("s", k) == v.value);
    }
  }
}

TEST_CASE("the store shows a record as the session API does and hides deleted ones") {
  replica_store store;
  record_delta d;
  d.id = "h";
  d.fields[field::created] = at("100", 1, 0, "n1");
  d.fields[field::active] = at("200", 1, 0, "n1");
  d.fields[field::ttl] = at("5000", 1, 0, "n1");
  d.fields[field::data("color")] = at("blue", 1, 0, "n1");
  CHECK(store.merge(d));
  CHECK_FALSE(store.merge(d)); // the same again changes nothing
  CHECK(store.live("h"));
  auto rec = store.to_session("h");
  CHECK(rec.created_ms == 100);
  CHECK(rec.last_active_ms == 200);
  CHECK(rec.ttl_ms == 5000);
  CHECK(rec.data == std::map<std::string, std::string>{{"color", "blue"}});
  record_delta older;
  older.id = "h";
  older.fields[field::data("color")] = at("red", 0, 5, "n9");
  CHECK_FALSE(store.merge(older)); // an older write loses
  CHECK(store.value("h", field::data("color")) == "blue");
  record_delta gone;
  gone.id = "h";
  gone.fields[field::gone] = at("1", 2, 0, "n2");
  CHECK(store.merge(gone));
  CHECK_FALSE(store.live("h"));
  CHECK_FALSE(store.live("unknown"));
}

TEST_CASE("a WAL line carries its checksum - a changed byte makes it unreadable, never a wrong record") {
  record_delta d;
  d.id = "h1";
  d.fields[field::data("k")] = at("value with \"quotes\" and \n newline", 123, 4, "n2");
  auto line = encode_wal_line(d);
  auto back = decode_wal_line(line);
  REQUIRE(back);
  CHECK(back->id == "h1");
  CHECK(back->fields.at(field::data("k")).value == d.fields.at(field::data("k")).value);
  CHECK(back->fields.at(field::data("k")).ts == d.fields.at(field::data("k")).ts);
  for (size_t i = 0; i < line.size(); i += 7) {
    auto bad = line;
    bad[i] = bad[i] == 'x' ? 'y' : 'x';
    CHECK_FALSE(decode_wal_line(bad));
  }
  CHECK_FALSE(decode_wal_line(""));
  CHECK_FALSE(decode_wal_line(line.substr(0, line.size() - 3))); // a torn write
}

namespace {

std::string make_temp_dir() {
  char tmpl[] = "/tmp/cafmcp-disk-XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  return tmpl;
}

std::string slurp(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void remove_tree(const std::string& dir) {
  std::system(("rm -rf '" + dir + "'").c_str());
}

std::vector<record_delta> numbered(int n, const std::string& prefix = "r") {
  std::vector<record_delta> out;
  for (int i = 0; i < n; ++i) {
    record_delta d;
    d.id = prefix + std::to_string(i);
    d.fields[field::created] = at("1", 1, 0, "n1");
    out.push_back(d);
  }
  return out;
}

bool exists_with_prefix(const std::string& dir, const std::string& prefix) {
  return std::system(("ls '" + dir + "' | grep -q '^" + prefix + "'").c_str()) == 0;
}

} // namespace

TEST_CASE("replicas on disk load back from snapshot then WAL, and a snapshot empties the WAL") {
  auto dir = make_temp_dir();
  std::string err;
  REQUIRE(write_snapshot(dir, numbered(3), err));
  REQUIRE(append_wal(dir, numbered(1, "w"), true, err));
  REQUIRE(append_wal(dir, numbered(2, "x"), false, err));
  auto loaded = load_replicas(dir);
  CHECK(loaded.from_snapshot == 3);
  CHECK(loaded.from_wal == 3);
  CHECK_FALSE(loaded.incomplete());
  CHECK_FALSE(loaded.torn_tail);
  REQUIRE(loaded.records.size() == 6);
  CHECK(loaded.records.back().id == "x1");
  REQUIRE(write_snapshot(dir, numbered(3), err));
  CHECK(load_replicas(dir).from_wal == 0);
  remove_tree(dir);
}

TEST_CASE("a snapshot written in slices drops only the WAL it covers - appends made while it was gathered stay") {
  auto dir = make_temp_dir();
  std::string err;
  REQUIRE(append_wal(dir, numbered(2, "before"), true, err));
  snapshot_in_slices s{1, wal_size(dir)};
  CHECK(s.id() == 1);
  s.add(numbered(2, "before"));
  REQUIRE(append_wal(dir, numbered(3, "during"), true, err)); // between two slices
  s.add(numbered(1, "r"));
  REQUIRE(s.write(dir, err));
  auto loaded = load_replicas(dir);
  CHECK(loaded.from_snapshot == 3);
  CHECK(loaded.from_wal == 3); // "during" only: "before" is in the snapshot
  CHECK_FALSE(loaded.incomplete());
  std::vector<std::string> ids;
  for (auto& d : loaded.records)
    ids.push_back(d.id);
  CHECK(ids == std::vector<std::string>{"before0", "before1", "r0", "during0", "during1", "during2"});
  // The next append follows the kept tail on a line of its own.
  REQUIRE(append_wal(dir, numbered(1, "after"), true, err));
  CHECK(load_replicas(dir).from_wal == 4);
  remove_tree(dir);
}

TEST_CASE("a torn last WAL line is dropped quietly and cut off, so the next append starts on a line of its own") {
  auto dir = make_temp_dir();
  std::string err;
  REQUIRE(append_wal(dir, numbered(2), true, err));
  auto whole = slurp(dir + "/replicas.wal");
  auto line = encode_wal_line(numbered(3).back());
  {
    std::ofstream wal{dir + "/replicas.wal", std::ios::app | std::ios::binary};
    wal << line.substr(0, line.size() / 2); // a crash in the middle of an append
  }
  auto loaded = load_replicas(dir);
  CHECK(loaded.torn_tail);
  CHECK(loaded.from_wal == 2);
  CHECK_FALSE(loaded.incomplete());
  CHECK(set_aside_damage(dir, loaded, 1000).empty());
  CHECK(slurp(dir + "/replicas.wal") == whole);
  REQUIRE(append_wal(dir, numbered(1, "after"), true, err));
  auto again = load_replicas(dir);
  CHECK(again.from_wal == 3);
  CHECK_FALSE(again.torn_tail);
  remove_tree(dir);
}

TEST_CASE("a bad WAL line with good lines after it stops the replay there and the WAL is kept aside") {
  auto dir = make_temp_dir();
  std::string err;
  REQUIRE(append_wal(dir, numbered(2, "a"), true, err));
  {
    std::ofstream wal{dir + "/replicas.wal", std::ios::app};
    wal << "0000 a flipped line\n";
  }
  REQUIRE(append_wal(dir, numbered(2, "b"), true, err));
  auto loaded = load_replicas(dir);
  CHECK(loaded.incomplete());
  CHECK(loaded.from_wal == 2);
  CHECK(loaded.wal_stopped_at == 3);
  CHECK(loaded.wal_not_replayed == 3);
  REQUIRE(loaded.records.size() == 2);
  CHECK(loaded.records.back().id == "a1"); // nothing after the damage
  auto what = set_aside_damage(dir, loaded, 1234);
  CHECK(what.find("line 3") != std::string::npos);
  CHECK(slurp(dir + "/replicas.wal.corrupt-1234").find("a flipped line") != std::string::npos);
  CHECK(load_replicas(dir).records.empty());
  remove_tree(dir);
}

TEST_CASE("a corrupt snapshot is not loaded and is moved aside, never overwritten") {
  auto dir = make_temp_dir();
  std::string err;
  REQUIRE(write_snapshot(dir, numbered(3), err));
  auto snap = slurp(dir + "/replicas.snapshot");
  snap[snap.size() - 5] ^= 1;
  std::ofstream{dir + "/replicas.snapshot", std::ios::trunc | std::ios::binary} << snap;
  auto corrupt = load_replicas(dir);
  CHECK(corrupt.snapshot_corrupt);
  CHECK(corrupt.incomplete());
  CHECK(corrupt.records.empty());
  CHECK(corrupt.problem.find("SHA-256") != std::string::npos);
  set_aside_damage(dir, corrupt, 99);
  CHECK(slurp(dir + "/replicas.snapshot.corrupt-99") == snap);
  REQUIRE(write_snapshot(dir, numbered(1), err));
  CHECK(slurp(dir + "/replicas.snapshot.corrupt-99") == snap);
  CHECK(exists_with_prefix(dir, "replicas.snapshot.corrupt-"));
  remove_tree(dir);
}

TEST_CASE("a WAL append that cannot be written reports why and leaves no half line behind") {
  auto dir = make_temp_dir();
  std::string err;
  // A directory where the WAL should be: opening it for writing fails.
  REQUIRE(::mkdir((dir + "/replicas.wal").c_str(), 0700) == 0);
  CHECK_FALSE(append_wal(dir, numbered(1), true, err));
  CHECK(err.find("replicas.wal") != std::string::npos);
  err.clear();
  CHECK_FALSE(write_snapshot(dir + "/missing", numbered(1), err));
  CHECK(err.find("missing") != std::string::npos);
  remove_tree(dir);
}
