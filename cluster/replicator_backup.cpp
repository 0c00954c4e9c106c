// The replicator's part in backups and restores: a cut that keeps this member's records as of one stamp while a
// backup reads them page by page, and restored records sent to every replica placement names.
#include "base/log.hpp"
#include "cluster/detail/replicator_state.hpp"
#include "cluster/errors.hpp"

namespace cafmcp::cluster::detail {

namespace {

std::string layout_of(const placement_view& v) {
  std::string out;
  for (auto& m : v.members)
    out += (out.empty() ? "" : ",") + m;
  for (auto& [from, to] : v.drains)
    out += " drain " + from + "->" + to;
  return out;
}

/// The cut by `id`, touched; or the error to answer.
std::optional<caf::error> find_cut(repl_actor* self, const std::string& id) {
  auto& st = self->state;
  if (!st.cut || st.cut->id != id)
    return make_error(errc::cut_gone, st.me + " has no backup cut " + id
                                        + " (it ended, or expired after a minute nobody read it)");
  st.cut->used = clock::now();
  return std::nullopt;
}

/// Refusals every restore step shares: a fenced node or a failed disk.
std::optional<caf::error> refuse_restore(repl_actor* self) {
  auto& st = self->state;
  if (auto why = st.view->fenced())
    return make_error(errc::fenced, *why);
  if (st.cfg.durable == durability::fsync && !st.disk_error.empty())
    return make_error(errc::disk_failed, st.me + " cannot persist records: " + st.disk_error);
  if (!st.members_known || st.layout.members.empty())
    return make_error(errc::placement_moving, st.me + " does not know the members yet; retry");
  return std::nullopt;
}

} // namespace

caf::result<caf::ok_atom> begin_cut(repl_actor* self, std::string id, const hlc_stamp& at) {
  auto& st = self->state;
  if (st.cut && st.cut->id != id)
    return make_error(errc::cut_busy, st.me + " is in another backup's cut (" + st.cut->id
                                        + "); one backup runs at a time");
  // Records written before `at` must still be written here as such: a
  // clock already past it may have replaced values the cut needs.
  if (st.hlc.wall_now() >= at.wall_ms)
    return make_error(errc::cut_not_ready, st.me + "'s clock (" + std::to_string(st.hlc.wall_now())
                                             + " ms) is already past the cut (" + std::to_string(at.wall_ms)
                                             + " ms); take a later one");
  st.store.begin_cut(at);
  st.cut = cut_job{std::move(id), {}, false, {}, clock::now()};
  log::info(st.path, "backup cut " + st.cut->id + " begun at " + std::to_string(at.wall_ms));
  return caf::ok_atom::value;
}

caf::result<cut_part> list_cut(repl_actor* self, const std::string& id) {
  if (auto err = find_cut(self, id))
    return std::move(*err);
  auto& st = self->state;
  auto& cut = *st.cut;
  if (!cut.listed) {
    auto at = st.store.cut().wall_ms;
    if (st.hlc.wall_now() < at)
      return make_error(errc::cut_not_ready, st.me + "'s clock has not passed the cut yet; retry");
    // A record this member leads but has not read from the other replicas
    // yet (after a membership change) may lack acknowledged writes.
    if (!st.needs_repair.empty() || !st.repairing.empty() || clock::now() < st.unsettled_until)
      return make_error(errc::cut_not_ready, st.me + " is repairing "
                                               + std::to_string(st.needs_repair.size() + st.repairing.size())
                                               + " record(s) after a membership change; retry");
    for (auto& rid : st.store.ids()) {
      auto p = placement(self, rid);
      if (p.empty() || p.front() != st.me)
        continue;
      if (live_fields(st.store.at_cut(rid).fields))
        cut.ids.push_back(rid);
    }
    std::sort(cut.ids.begin(), cut.ids.end());
    cut.layout = layout_of(st.layout);
    cut.listed = true;
  }
  return cut_part{st.me, cut.ids.size(), cut.layout, st.store.kept_for_cut()};
}

caf::result<std::vector<record_delta>> cut_page(repl_actor* self, const std::string& id, uint64_t from,
                                                uint32_t max) {
  if (auto err = find_cut(self, id))
    return std::move(*err);
  auto& st = self->state;
  auto& cut = *st.cut;
  if (!cut.listed)
    return make_error(errc::cut_not_ready, "list the cut before reading it");
  // One entry per listed record, so the reader can count: a record
  // forgotten since it was listed comes without fields (and the backup's
  // count then says it is short).
  std::vector<record_delta> out;
  for (auto i = from; i < cut.ids.size() && out.size() < max; ++i)
    out.push_back(st.store.at_cut(cut.ids[i]));
  return out;
}

caf::result<cut_part> end_cut(repl_actor* self, const std::string& id) {
  auto& st = self->state;
  if (auto err = find_cut(self, id))
    return std::move(*err);
  cut_part out{st.me, st.cut->ids.size(), layout_of(st.layout), st.store.kept_for_cut()};
  st.store.end_cut();
  log::info(st.path, "backup cut " + id + " ended (" + std::to_string(out.records) + " record(s), "
                       + std::to_string(out.kept) + " value(s) kept aside for it)");
  st.cut.reset();
  return out;
}

void expire_cut(repl_actor* self) {
  auto& st = self->state;
  if (!st.cut || clock::now() - st.cut->used < cut_idle)
    return;
  log::warning(st.path, "backup cut " + st.cut->id + " ended: nobody read it for "
                          + std::to_string(cut_idle.count() / 1000) + " s (its backup stopped)");
  st.store.end_cut();
  st.cut.reset();
}

caf::result<std::vector<std::string>> prepare_restore(repl_actor* self) {
  if (auto err = refuse_restore(self))
    return std::move(*err);
  return self->state.layout.members;
}

caf::result<uint64_t> restore_batch(repl_actor* self, std::vector<record_delta> ds, bool overwrite) {
  if (auto err = refuse_restore(self))
    return std::move(*err);
  auto& st = self->state;
  if (overwrite) {
    // Stamped now, the backup's values win over what the cluster holds;
    // a record deleted since comes back.
    for (auto& d : ds) {
      for (auto& [name, v] : d.fields)
        v.ts = st.hlc.now();
      d.fields[field::gone] = field_value{"0", st.hlc.now()};
    }
  }
  std::map<std::string, std::vector<record_delta>> by_member;
  for (auto& d : ds) {
    if (d.id.empty() || d.fields.empty())
      return make_error(errc::unexpected_answer, "a restored record has no id or no fields");
    for (auto& m : placement(self, d.id))
      by_member[m].push_back(d);
  }
  if (by_member.empty())
    return make_error(errc::no_quorum, "no member takes records");
  struct progress {
    caf::typed_response_promise<uint64_t> rp;
    size_t left = 0;
    uint64_t records = 0;
    std::vector<std::string> failed;
  };
  auto p = std::make_shared<progress>();
  p->rp = self->make_response_promise<uint64_t>();
  p->left = by_member.size();
  p->records = ds.size();
  auto done = [p](const std::string& member, bool ok) {
    if (!ok)
      p->failed.push_back(member);
    if (--p->left > 0)
      return;
    if (p->failed.empty()) {
      p->rp.deliver(p->records);
      return;
    }
    std::string who;
    for (auto& f : p->failed)
      who += (who.empty() ? "" : ", ") + f;
    p->rp.deliver(make_error(errc::no_quorum, "restored records are not held by " + who
                                                + " (refused, or no answer in time); restore again (without --overwrite "
                                                  "that is harmless: records merge by stamp)"));
  };
  for (auto& [member, batch] : by_member) {
    if (member != st.me) {
      send_apply(self, member, std::move(batch), [done, member = member](bool ok) { done(member, ok); }, false, true);
      continue;
    }
    bool all = true;
    for (auto& d : batch)
      all = absorb(self, d, true) && all;
    if (!all) {
      done(member, false);
      continue;
    }
    when_durable(self, [done, member = member](const std::string& err) { done(member, err.empty()); });
  }
  return p->rp;
}

} // namespace cafmcp::cluster::detail
