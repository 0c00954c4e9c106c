// The TTL sweep: which records the primary expires and which tombstones are forgotten.
#include "cluster/ttl_sweep.hpp"

#include "cluster/replica_store.hpp"

namespace cafmcp::cluster {

std::vector<sweep_step> plan_sweep(const replica_store& store, int64_t now_ms, std::chrono::milliseconds tombstone_ttl,
                                   const std::function<bool(const std::string&)>& leads) {
  return plan_sweep(store, store.ids(), now_ms, tombstone_ttl, leads);
}

std::vector<sweep_step> plan_sweep(const replica_store& store, const std::vector<std::string>& ids, int64_t now_ms,
                                   std::chrono::milliseconds tombstone_ttl,
                                   const std::function<bool(const std::string&)>& leads) {
  std::vector<sweep_step> out;
  for (auto& id : ids) {
    if (!store.find(id))
      continue;
    if (!store.live(id)) {
      if (static_cast<int64_t>(store.last_write(id).wall_ms) + tombstone_ttl.count() < now_ms)
        out.push_back({sweep_step::forget, id});
      continue;
    }
    if (!leads(id))
      continue;
    out.push_back({sweep_step::led, id});
    auto active = store.number(id, field::active);
    auto ttl = store.number(id, field::ttl);
    if (ttl > 0 && now_ms - active >= ttl)
      out.push_back({sweep_step::expire, id});
  }
  return out;
}

bool refuse_stale_copy(const replica_store& store, const record_delta& d, int64_t now_ms,
                       std::chrono::milliseconds tombstone_ttl) {
  if (store.find(d.id))
    return false; // merged last-write-wins with what this node holds, a tombstone included
  hlc_stamp newest;
  for (auto& [name, v] : d.fields)
    if (newest < v.ts)
      newest = v.ts;
  // (The same comparison as forgetting a tombstone: a copy older than a
  // forgotten tombstone is refused.)
  return static_cast<int64_t>(newest.wall_ms) + tombstone_ttl.count() < now_ms;
}

} // namespace cafmcp::cluster
