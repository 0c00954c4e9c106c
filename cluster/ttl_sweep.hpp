#pragma once
// The TTL sweep: which records the primary expires and which tombstones are forgotten,
// and which copies a replica refuses because their deletion may have been forgotten.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace cafmcp::cluster {

class replica_store;
struct record_delta;

struct sweep_step {
  enum kind_t { forget, led, expire };
  kind_t kind;
  std::string id;
};

/// One sweep at wall time `now_ms`: tombstones whose last write is older
/// than `tombstone_ttl` are forgotten; every live record this node leads (`leads`, and not awaiting
/// repair) is listed as `led` (checked for orphaned tasks), followed by
/// `expire` when its TTL has run out since its last activity. Expiry is a
/// write, so it replicates.
std::vector<sweep_step> plan_sweep(const replica_store& store, int64_t now_ms, std::chrono::milliseconds tombstone_ttl,
                                   const std::function<bool(const std::string&)>& leads);
/// The same over `ids` only (a slice of the store: a large store is swept
/// a slice at a time, so no one sweep holds the replicator for long; ids
/// no longer held are skipped).
std::vector<sweep_step> plan_sweep(const replica_store& store, const std::vector<std::string>& ids, int64_t now_ms,
                                   std::chrono::milliseconds tombstone_ttl,
                                   const std::function<bool(const std::string&)>& leads);

/// Whether a copy `d` from another replica (a push, a pull, a catch-up, the
/// disk) is refused at wall time `now_ms`: `store` holds nothing of the
/// record and even the copy's newest field is older than `tombstone_ttl`.
/// Every replica forgets a deletion that long after it, so such a copy may
/// be a record deleted while its sender was away (stopped, cut off, down
/// with its data dir); taking it would bring the deleted record back. A live
/// record is written (renewed, or expired by its primary) well within that
/// time as long as tombstone_ttl exceeds every record TTL.
bool refuse_stale_copy(const replica_store& store, const record_delta& d, int64_t now_ms,
                       std::chrono::milliseconds tombstone_ttl);

} // namespace cafmcp::cluster
