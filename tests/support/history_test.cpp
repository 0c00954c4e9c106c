// The fault tests' history checker (tests/support/history.hpp) on synthetic
// histories: it must see a lost write, a resurrection, a stale own read and a
// value nobody wrote, and must not call a superseded write lost.

#include <functional>

#include <doctest/doctest.h>

#include "tests/support/history.hpp"

using namespace cafmcp::test::history;
using namespace std::chrono_literals;

namespace {

const clock::time_point t0 = clock::time_point{} + 1000s;

clock::time_point at(int ms) {
  return t0 + std::chrono::milliseconds{ms};
}

/// Writer `w`'s write number `seq` of (h, k), sent at `ms` and answered 10 ms later.
void put(checker& c, const std::string& h, const std::string& k, int w, long seq, int ms, bool acked = true,
         const std::string& error = {}) {
  c.write(h, k, w, seq, value_of(h, k, w, seq), at(ms), at(ms + 10), acked, error);
}

read value_read(const std::string& node, const std::string& h, const std::string& k, const std::string& v, int ms) {
  read r;
  r.node = node;
  r.handle = h;
  r.key = k;
  r.result = read::outcome::value;
  r.value = v;
  r.invoked = at(ms);
  r.completed = at(ms + 5);
  return r;
}

read other_read(const std::string& node, const std::string& h, const std::string& k, read::outcome o, int ms) {
  auto r = value_read(node, h, k, "", ms);
  r.result = o;
  return r;
}

/// A history whose last acknowledged write of h1/w0 (seq 2) is missing on n2:
/// n2 reads seq 1 (the write acknowledged and lost at a crash).
std::vector<read> lost_write_history(checker& c) {
  put(c, "h1", "w0", 0, 1, 0);
  put(c, "h1", "w0", 0, 2, 20);
  put(c, "h2", "w1", 1, 1, 5);
  return {value_read("n1", "h1", "w0", value_of("h1", "w0", 0, 2), 1000),
                value_read("n2", "h1", "w0", value_of("h1", "w0", 0, 1), 1000),
                value_read("n1", "h2", "w1", value_of("h2", "w1", 1, 1), 1000),
                value_read("n2", "h2", "w1", value_of("h2", "w1", 1, 1), 1000)};
}

/// Whether `check` (a checker's judgement) reports the loss in lost_write_history.
bool catches_the_lost_write(const std::function<report(const checker&, const std::vector<read>&)>& check) {
  checker c;
  auto reads = lost_write_history(c);
  auto r = check(c, reads);
  return !r.valid() && r.lost.size() == 1 && r.lost[0].value == value_of("h1", "w0", 0, 2) && r.lost[0].node == "n2";
}

} // namespace

TEST_CASE("the history checker passes a history whose every acknowledged write is read back on every node") {
  checker c;
  put(c, "h1", "w0", 0, 1, 0);
  put(c, "h1", "w0", 0, 2, 20);
  put(c, "h2", "w1", 1, 1, 30);
  CHECK(c.keys() == std::vector<std::pair<std::string, std::string>>{{"h1", "w0"}, {"h2", "w1"}});
  c.healed(at(500));
  std::vector<read> reads;
  for (auto n : {"n1", "n2", "n3"}) {
    reads.push_back(value_read(n, "h1", "w0", value_of("h1", "w0", 0, 2), 1000));
    reads.push_back(value_read(n, "h2", "w1", value_of("h2", "w1", 1, 1), 1000));
  }
  auto r = c.check(reads);
  CHECK(r.valid());
  CHECK(r.operations == 3);
  CHECK(r.acknowledged == 3);
  CHECK(r.lost.empty());
  CHECK(r.error_count() == 0);
  REQUIRE(r.converge);
  CHECK(r.converge->count() == 505);
}

TEST_CASE("the history checker flags an acknowledged write that a node no longer has - an older value or none is a loss") {
  checker c;
  auto reads = lost_write_history(c);
  auto r = c.check(reads);
  CHECK_FALSE(r.valid());
  REQUIRE(r.lost.size() == 1);
  CHECK(r.lost[0].handle == "h1");
  CHECK(r.lost[0].seq == 2);
  CHECK(r.lost[0].node == "n2");
  CHECK(r.lost[0].read == value_of("h1", "w0", 0, 1));

  // No value at all, or the handle gone, loses it as well.
  auto none = c.check({other_read("n3", "h1", "w0", read::outcome::no_value, 1000)});
  CHECK(none.lost.size() == 1);
  auto gone = c.check({other_read("n3", "h1", "w0", read::outcome::gone, 1000)});
  CHECK(gone.lost.size() == 1);
  CHECK(gone.lost[0].read == "handle gone");
  // A read that failed proves nothing: it is counted as unread, and the history is not valid.
  auto failed = other_read("n3", "h1", "w0", read::outcome::error, 1000);
  failed.error = "connection refused";
  auto unread = c.check({failed});
  CHECK(unread.unread == 1);
  CHECK_FALSE(unread.valid());
}

TEST_CASE("a checker that ignores loss would go red - the lost-write history tells it from the real one") {
  CHECK(catches_the_lost_write([](const checker& c, const std::vector<read>& reads) { return c.check(reads); }));
  CHECK_FALSE(catches_the_lost_write([](const checker& c, const std::vector<read>& reads) {
    auto r = c.check(reads);
    r.lost.clear(); // the checker the old tests were: a lost write goes unseen
    return r;
  }));
}

TEST_CASE("a write superseded by a later acknowledged write is not lost - and a later failed write may be what is read") {
  checker c;
  put(c, "h1", "w0", 0, 1, 0);
  put(c, "h1", "w0", 0, 2, 20);
  put(c, "h1", "w0", 0, 3, 40, false, "could not store the value: cluster:no_quorum");
  auto r = c.check({value_read("n1", "h1", "w0", value_of("h1", "w0", 0, 2), 1000),
                    value_read("n2", "h1", "w0", value_of("h1", "w0", 0, 3), 1000)});
  CHECK(r.valid());
  CHECK(r.lost.empty());
  CHECK(r.operations == 3);
  CHECK(r.acknowledged == 2);
  // A read sent before a write was acknowledged need not see it.
  checker d;
  put(d, "h1", "w0", 0, 1, 0);
  put(d, "h1", "w0", 0, 2, 100);
  CHECK(d.check({value_read("n1", "h1", "w0", value_of("h1", "w0", 0, 1), 105)}).valid());
  CHECK_FALSE(d.check({value_read("n1", "h1", "w0", value_of("h1", "w0", 0, 1), 111)}).valid());
}

TEST_CASE("the history checker counts a deleted handle read back with a value as resurrected") {
  checker c;
  put(c, "h1", "w0", 0, 1, 0);
  c.remove("h1", at(50), at(60), true);
  put(c, "h2", "w0", 0, 2, 70);
  c.remove("h2", at(80), at(90), false, "timed out");
  CHECK(c.deleted() == std::vector<std::string>{"h1"});
  auto r = c.check({other_read("n1", "h1", "w0", read::outcome::gone, 1000),
                    value_read("n2", "h1", "w0", value_of("h1", "w0", 0, 1), 1000),
                    value_read("n3", "h1", "w0", value_of("h1", "w0", 0, 1), 1000), // the same handle: counted once
                    // A deletion that failed may or may not have happened: its keys are judged as usual.
                    value_read("n1", "h2", "w0", value_of("h2", "w0", 0, 2), 1000),
                    other_read("n2", "h2", "w0", read::outcome::gone, 1000)});
  CHECK(r.resurrected == 1);
  CHECK(r.lost.empty());
  CHECK_FALSE(r.valid());
  CHECK(r.operations == 4);
  CHECK(r.acknowledged == 3);
  CHECK(r.errors.at("timed out") == 1);
}

TEST_CASE("a value nobody wrote is unexpected, and a writer's read that misses its own acknowledged write is stale") {
  checker c;
  put(c, "h1", "w0", 0, 1, 0);
  put(c, "h1", "w0", 0, 2, 20);
  c.own_read(0, value_read("n1", "h1", "w0", value_of("h1", "w0", 0, 2), 31)); // fine
  c.own_read(0, value_read("n2", "h1", "w0", value_of("h1", "w0", 0, 1), 32)); // stale
  c.own_read(0, other_read("n3", "h1", "w0", read::outcome::no_value, 33));    // stale
  auto r = c.check({value_read("n1", "h1", "w0", "h=h1 k=w0 w=0 s=9", 1000)});
  CHECK(r.stale_own_reads == 2);
  CHECK(r.unexpected == 1);
  CHECK(r.lost.empty()); // an unexpected value is reported as such, not as a loss as well
  CHECK_FALSE(r.valid());
}

TEST_CASE("errors group by kind, and the longest unavailability is the longest gap between acknowledgements") {
  checker c;
  c.start(at(0));
  put(c, "h1", "w0", 0, 1, 0);   // acked at 10
  put(c, "h1", "w0", 0, 2, 20);  // acked at 30
  put(c, "h1", "w0", 0, 3, 40, false, "handle: unknown or expired handle 0123456789abcdef0123");
  put(c, "h1", "w0", 0, 4, 60, false, "handle: unknown or expired handle fedcba9876543210fedc");
  put(c, "h1", "w0", 0, 5, 80, false, "could not store the value: acknowledged by 1 of 2 replicas needed within 2000 ms");
  put(c, "h1", "w0", 0, 6, 500);  // acked at 510: 480 ms without an ack
  put(c, "h1", "w0", 0, 7, 600, false, "connection refused"); // ends at 610
  auto r = c.check({value_read("n1", "h1", "w0", value_of("h1", "w0", 0, 6), 1000)});
  CHECK(r.valid());
  CHECK(r.longest_unavailable.count() == 480);
  CHECK(r.slowest_ack.count() == 10);
  CHECK(r.errors.size() == 3);
  CHECK(r.errors.at("handle: unknown or expired handle <id>") == 2);
  CHECK(r.errors.at("could not store the value: acknowledged by N of N replicas needed within N ms") == 1);
  CHECK(r.error_count() == 4);
}

TEST_CASE("the report line has the fixed format the fault suite greps - and rounds add up") {
  checker c;
  auto reads = lost_write_history(c);
  c.healed(at(900));
  auto r = c.check(reads);
  CHECK(r.line("kill-all", 3)
        == "FAULT-REPORT nemesis=kill-all nodes=3 operations=3 acknowledged=3 lost=1 resurrected=0 unavailable_ms="
             + std::to_string(r.longest_unavailable.count()) + " converge_ms=105 errors=0 valid=0");
  report total;
  total.add(r);
  total.add(r);
  CHECK(total.operations == 6);
  CHECK(total.lost.size() == 2);
  CHECK(total.converge->count() == 105);
  CHECK(seq_of(value_of("h", "k", 3, 42)) == 42L);
  CHECK_FALSE(seq_of("garbage"));
}
