// The rebalance and catch-up planner: which records go to which member, and which this node must pull first.
#include "cluster/rebalance_plan.hpp"

#include <algorithm>

#include "cluster/placement.hpp"
#include "cluster/replica_store.hpp"

namespace cafmcp::cluster {

namespace {

bool contains(const std::vector<std::string>& xs, const std::string& x) {
  return std::find(xs.begin(), xs.end(), x) != xs.end();
}

void normalize(push_plan& pushes) {
  for (auto& [peer, ids] : pushes) {
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  }
}

} // namespace

rebalance_plan plan_rebalance(const replica_store& store, const std::string& me, const placement_view& before,
                              const placement_view& now) {
  rebalance_plan out;
  for (auto& id : store.ids()) {
    auto was = place_record(store, id, before);
    auto is = place_record(store, id, now);
    bool was_primary = !was.empty() && was.front() == me;
    if (!is.empty() && is.front() == me && !was_primary) {
      out.newly_led.push_back(id);
      if (!was.empty() && !contains(now.members, was.front()))
        ++out.promoted;
    }
    for (auto& m : is)
      if (m != me && !contains(was, m))
        out.pushes[m].push_back(id);
    // No longer a replica of it: hand it to all of its replicas. The copy
    // stays here until then as well.
    if (!contains(is, me))
      for (auto& m : is)
        out.pushes[m].push_back(id);
  }
  normalize(out.pushes);
  return out;
}

handoff_plan plan_handoff(const replica_store& store, const std::string& me, const placement_view& now) {
  handoff_plan out;
  for (auto& id : store.ids()) {
    if (!store.live(id))
      continue;
    ++out.count;
    for (auto& m : place_record(store, id, now))
      if (m != me)
        out.pushes[m].push_back(id);
  }
  return out;
}

record_digest digest_of(const replica_store& store) {
  record_digest out;
  for (auto& id : store.ids())
    out[id] = store.last_write(id);
  return out;
}

std::vector<std::string> records_to_send(const replica_store& store, const std::string& member,
                                         const record_digest& have, const placement_view& now) {
  std::vector<std::string> out;
  for (auto& id : store.ids()) {
    if (!contains(place_record(store, id, now), member))
      continue;
    auto theirs = have.find(id);
    if (theirs == have.end() || theirs->second < store.last_write(id))
      out.push_back(id);
  }
  return out;
}

std::string repair_blocker(const std::string& id, bool held, const std::string& me,
                           const std::vector<std::string>& known, const placement_view& reachable) {
  bool minority = reachable.members.size() * 2 <= known.size();
  if (held && !minority)
    return {};
  auto holders = held ? place(id, known, reachable.factor, reachable.drains) : known;
  for (auto& name : holders)
    if (name != me && std::find(reachable.members.begin(), reachable.members.end(), name) == reachable.members.end())
      return name;
  return {};
}

std::optional<missed_writes_reason> missed_writes(const std::map<std::string, member_handle>& before,
                                         const std::map<std::string, member_handle>& now, const std::string& me) {
  auto was = before.find(me);
  auto is = now.find(me);
  if (was != before.end() && is != now.end() && was->second.incarnation != 0
      && was->second.incarnation != is->second.incarnation)
    return missed_writes_reason{true, me + " rejoined as a new incarnation"};
  for (auto& [name, m] : now) {
    if (name == me || !m.reachable)
      continue;
    auto old = before.find(name);
    if (old != before.end() && !old->second.reachable && old->second.incarnation == m.incarnation)
      return missed_writes_reason{false, name + " is reachable again"};
  }
  return std::nullopt;
}

} // namespace cafmcp::cluster
