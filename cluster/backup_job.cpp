// Backups and restores of a whole cluster through one member: the cut across members, paging, batching.
#include "cluster/backup_job.hpp"

#include <algorithm>
#include <thread>

#include <caf/all.hpp>

#include "base/crypto.hpp"
#include "cluster/client.hpp"
#include "cluster/errors.hpp"

namespace cafmcp::cluster {

namespace {

using clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

/// How far ahead of the latest member clock a cut is placed: enough for
/// every member to hear of it before its clock gets there.
constexpr milliseconds cut_lead{300};
constexpr int cut_attempts = 3;
/// How often a long backup tells every member its cut is still being read
/// (a member ends a cut unused for a minute).
constexpr milliseconds cut_keepalive{10000};

milliseconds since(clock::time_point t) {
  return std::chrono::duration_cast<milliseconds>(clock::now() - t);
}

struct member_calls {
  caf::actor_system& sys;
  const caf::actor& node;
  milliseconds timeout;

  caf::expected<caf::message> call(const std::string& member, caf::message msg) const {
    return distribute_call(sys, node, member, "replicator", std::move(msg), timeout);
  }

  /// The one T in the answer, or a backup_error saying what `what` met.
  template <class T>
  T one(const std::string& member, caf::message msg, const std::string& what) const {
    auto m = call(member, std::move(msg));
    if (!m)
      throw backup_error(what + " on " + member + ": " + sys.render(m.error()));
    if (!m->match_elements<T>())
      throw backup_error(what + " on " + member + ": an unexpected answer " + caf::to_string(*m));
    return m->get_as<T>(0);
  }
};

/// The members a backup reads: every up member, each reachable.
std::vector<std::string> up_members(caf::actor_system& sys, const caf::actor& node, milliseconds timeout) {
  auto rows = cluster_status(sys, node, timeout);
  if (!rows)
    throw backup_error("cannot read the cluster's members: " + sys.render(rows.error()));
  std::vector<std::string> out;
  for (auto& r : *rows) {
    if (r.state != "up")
      continue;
    if (r.side == "unreachable" || r.side == "fenced")
      throw backup_error("member " + r.node + " is " + r.side
                         + "; a backup reads every member's records (wait until the cluster is whole)");
    out.push_back(r.node);
  }
  if (out.empty())
    throw backup_error("no member is up");
  return out;
}

std::string joined(const std::vector<std::string>& xs) {
  std::string out;
  for (auto& x : xs)
    out += (out.empty() ? "" : ",") + x;
  return out;
}

/// Ends the cut on every member that began it (best effort: an unended
/// cut ends by itself after a minute).
void end_cuts(const member_calls& c, const std::vector<std::string>& begun, const std::string& id) {
  for (auto& m : begun)
    c.call(m, caf::make_message(repl_cut_end_atom::value, id));
}

/// Every member keeps its records as of one stamp; returns the stamp.
hlc_stamp begin_cuts(const member_calls& c, const std::vector<std::string>& members, const std::string& id,
                     const std::string& note, std::vector<std::string>& begun) {
  auto lead = cut_lead;
  for (int attempt = 1;; ++attempt) {
    uint64_t latest = 0;
    for (auto& m : members)
      latest = std::max(latest, c.one<hlc_stamp>(m, caf::make_message(repl_clock_atom::value), "reading the clock").wall_ms);
    hlc_stamp at{latest + static_cast<uint64_t>(lead.count()), 0, ""};
    std::string late;
    for (auto& m : members) {
      auto r = c.call(m, caf::make_message(repl_cut_atom::value, id, at, note));
      if (r && r->match_elements<caf::ok_atom>()) {
        begun.push_back(m);
        continue;
      }
      auto why = r ? "an unexpected answer " + caf::to_string(*r) : c.sys.render(r.error());
      if (r || !is(r.error(), errc::cut_not_ready) || attempt == cut_attempts) {
        end_cuts(c, begun, id);
        throw backup_error("starting the cut on " + m + ": " + why);
      }
      late = m;
      break;
    }
    if (late.empty())
      return at;
    // A member's clock got past the cut before it heard of it (slow calls):
    // start again further ahead.
    end_cuts(c, begun, id);
    begun.clear();
    lead *= 4;
  }
}

/// Waits until every member can list its part (its clock passed the cut, no
/// record awaiting repair), and checks that they agree on the layout.
std::vector<cut_part> list_cuts(const member_calls& c, const std::vector<std::string>& members, const std::string& id,
                                milliseconds settle) {
  std::vector<cut_part> parts;
  auto deadline = clock::now() + settle;
  for (auto& m : members) {
    for (;;) {
      auto r = c.call(m, caf::make_message(repl_cut_list_atom::value, id));
      if (r && r->match_elements<cut_part>()) {
        parts.push_back(r->get_as<cut_part>(0));
        break;
      }
      auto why = r ? "an unexpected answer " + caf::to_string(*r) : c.sys.render(r.error());
      if (r || !is(r.error(), errc::cut_not_ready) || clock::now() > deadline)
        throw backup_error("listing the records of " + m + ": " + why);
      std::this_thread::sleep_for(milliseconds{100});
    }
  }
  for (auto& p : parts)
    if (p.layout != parts.front().layout)
      throw backup_error("the members disagree about the cluster (" + parts.front().member + ": "
                         + parts.front().layout + "; " + p.member + ": " + p.layout
                         + "); try again once membership settles");
  // The layout's members must be the ones read: a member that joined after
  // they were read leads records nobody here would read.
  auto sorted = members;
  std::sort(sorted.begin(), sorted.end());
  auto layout = parts.empty() ? std::string{} : parts.front().layout;
  auto placed = layout.substr(0, layout.find(' ')); // (drains follow the members)
  if (placed != joined(sorted))
    throw backup_error("the cluster changed before the cut was read (members " + joined(sorted) + ", placement over "
                       + placed + "); take the backup again");
  return parts;
}

void report(const progress_fn& f, const std::string& phase, uint64_t done, uint64_t total, uint64_t bytes,
            clock::time_point started) {
  if (f)
    f(backup_progress{phase, done, total, bytes, since(started)});
}

} // namespace

backup_result run_backup(caf::actor_system& sys, const caf::actor& node, const backup_options& o) {
  auto started = clock::now();
  member_calls c{sys, node, o.timeout};
  auto members = up_members(sys, node, o.timeout);
  auto id = crypto::to_hex(crypto::random_bytes(8));
  auto note = "backup by " + o.taken_by + " to " + o.out;
  std::vector<std::string> begun;
  backup_result out;
  out.cut = begin_cuts(c, members, id, note, begun);
  try {
    report(o.progress, "cut", 0, 0, 0, started);
    out.parts = list_cuts(c, members, id, o.settle);
    backup_header h;
    h.cluster = joined(members);
    h.cut = out.cut;
    for (auto& p : out.parts)
      h.records += p.records;
    h.created_ms = std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    h.taken_by = o.taken_by;
    backup_writer w{o.out, h, o.key};
    auto touched = clock::now();
    for (auto& p : out.parts) {
      for (uint64_t from = 0; from < p.records;) {
        auto page = c.one<std::vector<record_delta>>(
          p.member, caf::make_message(repl_cut_page_atom::value, id, from, o.page), "reading records");
        if (page.empty())
          break;
        from += page.size(); // one per listed record, forgotten ones (no fields) included
        for (auto& d : page)
          if (!d.fields.empty()) // forgotten since it was listed: finish() names the shortfall
            w.add(d);
        report(o.progress, "read", w.records(), h.records, w.bytes(), started);
        if (clock::now() - touched > cut_keepalive) {
          // The members not being read now would end their cut after a
          // minute unused: listing again (cheap once listed) keeps it.
          for (auto& m : members)
            c.one<cut_part>(m, caf::make_message(repl_cut_list_atom::value, id), "keeping the cut");
          touched = clock::now();
        }
      }
    }
    for (auto& m : members) {
      auto after = c.one<cut_part>(m, caf::make_message(repl_cut_end_atom::value, id), "ending the cut");
      auto p = std::find_if(out.parts.begin(), out.parts.end(), [&](const cut_part& x) { return x.member == m; });
      if (p != out.parts.end() && after.layout != p->layout)
        throw backup_error("the cluster changed while the backup ran (" + p->layout + " → " + after.layout
                           + "); records may have moved between members: take the backup again");
      if (p != out.parts.end())
        p->kept = after.kept;
    }
    begun.clear();
    out.summary = w.finish();
  } catch (...) {
    end_cuts(c, begun, id);
    throw;
  }
  out.took = since(started);
  return out;
}

restore_result run_restore(caf::actor_system& sys, const caf::actor& node, const restore_options& o) {
  auto started = clock::now();
  restore_result out;
  // Everything checked before anything is sent: a bad file changes nothing.
  {
    backup_reader r{o.file};
    r.unlock(reopen_backup_key(o.secret, r.header().kdf));
    std::vector<record_delta> records;
    while (r.next(records)) {
      records.clear();
      report(o.progress, "verify", r.summary().records, r.header().records, r.position(), started);
    }
    out.header = r.header();
    out.summary = r.summary();
  }
  auto rows = cluster_status(sys, node, o.timeout);
  if (!rows)
    throw backup_error("cannot read the cluster's members: " + sys.render(rows.error()));
  std::string me;
  for (auto& row : *rows)
    if (row.self)
      me = row.node;
  member_calls c{sys, node, o.timeout};
  auto note = "restore by " + o.by + " from " + o.file + (o.overwrite ? " (overwrite)" : "") + ": "
              + std::to_string(out.summary.records) + " records, cut " + std::to_string(out.header.cut.wall_ms);
  // A node that has just started may not know its members yet.
  for (int attempt = 1;; ++attempt) {
    auto m = c.call(me, caf::make_message(repl_restore_atom::value, note));
    if (m && m->match_elements<std::vector<std::string>>())
      break;
    auto why = m ? "an unexpected answer " + caf::to_string(*m) : sys.render(m.error());
    if (m || !is(m.error(), errc::placement_moving) || attempt == 100)
      throw backup_error("starting the restore on " + me + ": " + why);
    std::this_thread::sleep_for(milliseconds{200});
  }
  backup_reader r{o.file};
  r.unlock(reopen_backup_key(o.secret, r.header().kdf));
  std::vector<record_delta> records;
  auto send = [&](std::vector<record_delta> batch) {
    // A moment of placement disagreement (a member joining) is retried.
    for (int attempt = 1;; ++attempt) {
      auto m = c.call(me, caf::make_message(repl_restore_batch_atom::value, batch, o.overwrite));
      if (m && m->match_elements<uint64_t>()) {
        out.restored += batch.size();
        return;
      }
      auto why = m ? "an unexpected answer " + caf::to_string(*m) : sys.render(m.error());
      if (m || !is(m.error(), errc::placement_moving) || attempt == 5)
        throw backup_error("the restore stopped after " + std::to_string(out.restored) + " of "
                           + std::to_string(out.summary.records) + " records: " + why);
      std::this_thread::sleep_for(milliseconds{200 * attempt});
    }
  };
  std::vector<record_delta> batch;
  while (r.next(records)) {
    for (auto& d : records) {
      batch.push_back(std::move(d));
      if (batch.size() == o.batch) {
        send(std::move(batch));
        batch.clear();
        report(o.progress, "restore", out.restored, out.summary.records, r.position(), started);
      }
    }
    records.clear();
  }
  if (!batch.empty())
    send(std::move(batch));
  report(o.progress, "restore", out.restored, out.summary.records, r.size(), started);
  out.took = since(started);
  return out;
}

} // namespace cafmcp::cluster
