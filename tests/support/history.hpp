#pragma once

// A Jepsen-style history checker for the fault tests. Pure: it only records
// what clients did and saw, then judges final reads against it; it talks to
// no node. Thread-safe recording (writers record from their own threads).
//
// The model: every write is unique (its value names handle, key, writer and
// sequence number), and each key is written by one writer only, one write at
// a time, with increasing sequence numbers — so "superseded" is exact: a
// write is superseded by a later write of the same key (higher sequence).
//
// After the faults heal, for every key with an acknowledged write, every
// node's read must return that key's last acknowledged write or a later
// attempted one (a write that failed or timed out may still have happened);
// anything older is the loss of the last acknowledged write. A handle whose
// deletion was acknowledged must read as gone on every node (a value read
// there is a resurrection). A writer's own read after its acknowledged write
// must see that write or a later one (read your writes).

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

namespace cafmcp::test::history {

using clock = std::chrono::steady_clock;

/// The value a write stores: handle, key, writer and sequence, parseable back.
inline std::string value_of(const std::string& handle, const std::string& key, int writer, long seq) {
  return "h=" + handle + " k=" + key + " w=" + std::to_string(writer) + " s=" + std::to_string(seq);
}

/// The sequence number in a value made by value_of (nullopt for anything else).
inline std::optional<long> seq_of(const std::string& value) {
  auto at = value.rfind(" s=");
  if (at == std::string::npos || at + 3 >= value.size())
    return std::nullopt;
  try {
    size_t used = 0;
    long s = std::stol(value.substr(at + 3), &used);
    if (at + 3 + used != value.size())
      return std::nullopt;
    return s;
  } catch (...) {
    return std::nullopt;
  }
}

/// An error message with its varying parts (hex ids, numbers) blanked, so that
/// errors group by kind.
inline std::string error_kind(const std::string& message) {
  static const std::regex hex{"[0-9a-f]{12,}"};
  static const std::regex num{"[0-9]+"};
  auto out = std::regex_replace(message, hex, "<id>");
  out = std::regex_replace(out, num, "N");
  if (out.size() > 160)
    out.resize(160);
  return out;
}

/// One node's answer to a final read of (handle, key).
struct read {
  std::string node;
  std::string handle, key;
  enum class outcome { value, no_value, gone, error } result = outcome::error;
  std::string value;  // with outcome::value
  std::string error;  // with outcome::error
  clock::time_point invoked{}, completed{};
};

/// A write the final reads did not show (nor a later write of its key).
struct lost_write {
  std::string handle, key, value;
  long seq = 0;
  clock::time_point acknowledged{};
  std::string node;  // the node whose read missed it
  std::string read;  // what that node answered
  std::string story; // the key's writes, in the order sent (for the failure message)
};

struct report {
  size_t operations = 0;   // writes and deletions attempted
  size_t acknowledged = 0; // of which acknowledged
  std::vector<lost_write> lost;
  size_t resurrected = 0;          // handles read back with a value after their deletion was acknowledged
  size_t unexpected = 0;           // reads of a value nobody wrote to that key
  size_t stale_own_reads = 0;      // a writer's read that missed its own acknowledged write
  std::vector<lost_write> stale;   // which (the write it missed and what it read)
  size_t unread = 0;               // final reads that failed (an error: the check is incomplete)
  std::map<std::string, size_t> errors; // error kind → count (writes, deletions, own reads)
  std::chrono::milliseconds longest_unavailable{0}; // longest gap without a successful acknowledgement
  std::chrono::milliseconds slowest_ack{0};         // the longest an acknowledged operation took
  std::optional<std::chrono::milliseconds> converge; // heal → the last of the final reads

  /// No acknowledged write lost, nothing resurrected or unexpected, own writes read, every read answered.
  bool valid() const {
    return lost.empty() && resurrected == 0 && unexpected == 0 && stale_own_reads == 0 && unread == 0;
  }

  /// Acknowledged writes lost (on one node or more).
  size_t lost_writes() const {
    std::set<std::string> values;
    for (auto& l : lost)
      values.insert(l.value);
    return values.size();
  }

  size_t error_count() const {
    size_t n = 0;
    for (auto& [k, c] : errors)
      n += c;
    return n;
  }

  /// The fixed-format line bench/fault_suite.sh greps:
  /// FAULT-REPORT nemesis=N nodes=K operations=… acknowledged=… lost=… resurrected=…
  /// (lost: acknowledged writes missing on at least one node)
  /// unavailable_ms=… converge_ms=… errors=… valid=0|1
  std::string line(const std::string& nemesis, size_t nodes) const {
    std::ostringstream o;
    o << "FAULT-REPORT nemesis=" << nemesis << " nodes=" << nodes << " operations=" << operations
      << " acknowledged=" << acknowledged << " lost=" << lost_writes() << " resurrected=" << resurrected
      << " unavailable_ms=" << longest_unavailable.count()
      << " converge_ms=" << (converge ? std::to_string(converge->count()) : std::string{"-"})
      << " errors=" << error_count() << " valid=" << (valid() ? 1 : 0);
    return o.str();
  }

  /// Everything, for a failing test's output.
  std::string details(size_t max_items = 10) const {
    std::ostringstream o;
    o << "operations " << operations << ", acknowledged " << acknowledged << ", lost " << lost_writes()
      << " (missed by " << lost.size() << " node reads)"
      << ", resurrected " << resurrected << ", unexpected " << unexpected << ", stale own reads "
      << stale_own_reads << ", unread " << unread << ", longest unavailability " << longest_unavailable.count()
      << " ms, slowest acknowledged write " << slowest_ack.count() << " ms";
    for (size_t i = 0; i < std::min(max_items, lost.size()); ++i)
      o << "\n  lost: " << lost[i].value << " (node " << lost[i].node << " read: " << lost[i].read << ")"
        << (i == 0 ? "\n    the key's writes: " + lost[i].story : std::string{});
    for (size_t i = 0; i < std::min(max_items, stale.size()); ++i)
      o << "\n  stale own read: " << stale[i].value << " (node " << stale[i].node << " read: " << stale[i].read << ")";
    for (auto& [kind, n] : errors)
      o << "\n  error x" << n << ": " << kind;
    return o.str();
  }

  /// Adds another round's report (a test with several rounds of faults).
  void add(const report& r) {
    operations += r.operations;
    acknowledged += r.acknowledged;
    lost.insert(lost.end(), r.lost.begin(), r.lost.end());
    resurrected += r.resurrected;
    unexpected += r.unexpected;
    stale_own_reads += r.stale_own_reads;
    stale.insert(stale.end(), r.stale.begin(), r.stale.end());
    unread += r.unread;
    for (auto& [k, n] : r.errors)
      errors[k] += n;
    longest_unavailable = std::max(longest_unavailable, r.longest_unavailable);
    slowest_ack = std::max(slowest_ack, r.slowest_ack);
    if (r.converge)
      converge = converge ? std::max(*converge, *r.converge) : r.converge;
  }
};

class checker {
public:
  /// The start of the history (the first writer starts; for unavailability).
  void start(clock::time_point t) {
    std::lock_guard<std::mutex> g{mtx_};
    if (!started_ || t < *started_)
      started_ = t;
  }

  /// A write of `value` (value_of(handle, key, writer, seq)) to (handle, key):
  /// acknowledged, or failed with `error` (which leaves it indeterminate).
  void write(const std::string& handle, const std::string& key, int writer, long seq, const std::string& value,
             clock::time_point invoked, clock::time_point completed, bool acked, const std::string& error = {}) {
    std::lock_guard<std::mutex> g{mtx_};
    ops_.push_back(op{kind::write, handle, key, writer, seq, value, invoked, completed, acked, error});
  }

  /// A deletion of `handle`: acknowledged, or failed with `error`.
  void remove(const std::string& handle, clock::time_point invoked, clock::time_point completed, bool acked,
              const std::string& error = {}) {
    std::lock_guard<std::mutex> g{mtx_};
    ops_.push_back(op{kind::remove, handle, {}, -1, 0, {}, invoked, completed, acked, error});
  }

  /// A writer's own read of (handle, key) while the history runs (read your writes).
  void own_read(int writer, const read& r) {
    std::lock_guard<std::mutex> g{mtx_};
    own_reads_.emplace_back(writer, r);
  }

  /// When the faults healed (time to converge counts from here).
  void healed(clock::time_point t) {
    std::lock_guard<std::mutex> g{mtx_};
    healed_ = t;
  }

  /// The (handle, key) pairs with an acknowledged write, to read at the end.
  std::vector<std::pair<std::string, std::string>> keys() const {
    std::lock_guard<std::mutex> g{mtx_};
    std::set<std::pair<std::string, std::string>> out;
    for (auto& o : ops_)
      if (o.what == kind::write && o.acked)
        out.emplace(o.handle, o.key);
    return {out.begin(), out.end()};
  }

  /// Handles whose deletion was acknowledged, to read at the end.
  std::vector<std::string> deleted() const {
    std::lock_guard<std::mutex> g{mtx_};
    std::set<std::string> out;
    for (auto& o : ops_)
      if (o.what == kind::remove && o.acked)
        out.insert(o.handle);
    return {out.begin(), out.end()};
  }

  /// Judges `finals` (every node's read of every key() and deleted() handle)
  /// against the history.
  report check(const std::vector<read>& finals) const {
    std::lock_guard<std::mutex> g{mtx_};
    report r;
    std::vector<clock::time_point> acks;
    std::map<std::string, clock::time_point> deleted_at; // acknowledged deletions
    std::map<std::string, clock::time_point> maybe_deleted_at; // any deletion sent (it may have happened)
    for (auto& o : ops_) {
      if (o.what == kind::remove) {
        auto i = maybe_deleted_at.find(o.handle);
        if (i == maybe_deleted_at.end() || o.invoked < i->second)
          maybe_deleted_at[o.handle] = o.invoked;
      }
      ++r.operations;
      if (o.acked) {
        ++r.acknowledged;
        acks.push_back(o.completed);
        r.slowest_ack = std::max(r.slowest_ack, std::chrono::duration_cast<std::chrono::milliseconds>(o.completed - o.invoked));
        if (o.what == kind::remove) {
          auto i = deleted_at.find(o.handle);
          if (i == deleted_at.end() || o.completed < i->second)
            deleted_at[o.handle] = o.completed;
        }
      } else {
        ++r.errors[error_kind(o.error)];
      }
    }
    r.longest_unavailable = longest_gap(acks);
    std::map<std::pair<std::string, std::string>, std::vector<const op*>> writes_of;
    for (auto& o : ops_)
      if (o.what == kind::write)
        writes_of[{o.handle, o.key}].push_back(&o);
    static const std::vector<const op*> none;
    std::set<std::string> resurrected;

    auto judge = [&](const read& rd, bool final_read) {
      // A key of a deleted handle: only "gone" is right, once the deletion was acknowledged.
      auto del = deleted_at.find(rd.handle);
      if (del != deleted_at.end() && del->second <= rd.invoked) {
        if (rd.result == read::outcome::value)
          resurrected.insert(rd.handle);
        else if (rd.result == read::outcome::error)
          final_read ? ++r.unread : ++r.errors[error_kind(rd.error)];
        return;
      }
      // The key's last write acknowledged before the read was sent.
      auto w = writes_of.find({rd.handle, rd.key});
      auto& writes = w == writes_of.end() ? none : w->second;
      const op* last = nullptr;
      for (auto* o : writes)
        if (o->acked && o->completed <= rd.invoked && (!last || o->seq > last->seq))
          last = o;
      if (rd.result == read::outcome::error) {
        final_read ? ++r.unread : ++r.errors[error_kind(rd.error)];
        return;
      }
      std::optional<long> got;
      if (rd.result == read::outcome::value) {
        got = seq_of(rd.value);
        bool written = false;
        for (auto* o : writes)
          if (o->value == rd.value && o->invoked <= rd.completed)
            written = true;
        if (!written) {
          ++r.unexpected;
          return;
        }
      }
      // A deletion that failed may still have happened: the handle may read as gone.
      auto maybe = maybe_deleted_at.find(rd.handle);
      if (rd.result == read::outcome::gone && maybe != maybe_deleted_at.end() && maybe->second <= rd.completed)
        return;
      if (last && (!got || *got < last->seq)) {
        std::string saw = rd.result == read::outcome::value ? rd.value
                          : rd.result == read::outcome::gone ? std::string{"handle gone"}
                                                             : std::string{"no value"};
        if (!final_read) {
          ++r.stale_own_reads;
          r.stale.push_back(lost_write{last->handle, last->key, last->value, last->seq, last->completed, rd.node, saw, {}});
          return;
        }
        r.lost.push_back(lost_write{last->handle, last->key, last->value, last->seq, last->completed, rd.node, saw,
                                    story_of(writes)});
      }
    };
    for (auto& [writer, rd] : own_reads_)
      judge(rd, false);
    for (auto& rd : finals)
      judge(rd, true);
    r.resurrected = resurrected.size();

    if (healed_ && !finals.empty()) {
      auto end = finals.front().completed;
      for (auto& rd : finals)
        end = std::max(end, rd.completed);
      r.converge = std::chrono::duration_cast<std::chrono::milliseconds>(end - *healed_);
    }
    return r;
  }

private:
  enum class kind { write, remove };
  struct op {
    kind what;
    std::string handle, key;
    int writer;
    long seq;
    std::string value;
    clock::time_point invoked, completed;
    bool acked;
    std::string error;
  };

  /// "s=<seq> ok|failed (<error>) <sent>–<answered> ms" for each write, times from the start.
  std::string story_of(const std::vector<const op*>& writes) const {
    auto ms = [this](clock::time_point t) {
      return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(t - started_.value_or(t)).count());
    };
    std::string out;
    for (auto* o : writes)
      out += "\n      s=" + std::to_string(o->seq) + " " + (o->acked ? "ok" : "failed (" + o->error + ")") + " "
             + ms(o->invoked) + "-" + ms(o->completed) + " ms";
    return out;
  }

  /// The longest time without an acknowledgement: between consecutive acks,
  /// from the start to the first, and from the last to the end of the history.
  std::chrono::milliseconds longest_gap(std::vector<clock::time_point> acks) const {
    if (ops_.empty())
      return std::chrono::milliseconds{0};
    auto begin = started_.value_or(ops_.front().invoked);
    auto end = begin;
    for (auto& o : ops_) {
      begin = std::min(begin, o.invoked);
      end = std::max(end, o.completed);
    }
    std::sort(acks.begin(), acks.end());
    auto gap = clock::duration::zero();
    auto prev = begin;
    for (auto t : acks) {
      gap = std::max(gap, t - prev);
      prev = t;
    }
    gap = std::max(gap, end - prev);
    return std::chrono::duration_cast<std::chrono::milliseconds>(gap);
  }

  mutable std::mutex mtx_;
  std::vector<op> ops_;
  std::vector<std::pair<int, read>> own_reads_;
  std::optional<clock::time_point> started_, healed_;
};

} // namespace cafmcp::test::history
