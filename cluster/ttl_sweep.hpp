#pragma once
// The TTL sweep: which records the primary expires and which tombstones are forgotten.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace cafmcp::cluster {

class replica_store;

constexpr std::chrono::milliseconds tombstone_keep{60000}; // a deleted record is forgotten after this

struct sweep_step {
  enum kind_t { forget, led, expire };
  kind_t kind;
  std::string id;
};

/// One sweep at wall time `now_ms`: tombstones older than tombstone_keep are
/// forgotten; every live record this node leads (`leads`, and not awaiting
/// repair) is listed as `led` (checked for orphaned tasks), followed by
/// `expire` when its TTL has run out since its last activity. Expiry is a
/// write, so it replicates.
std::vector<sweep_step> plan_sweep(const replica_store& store, int64_t now_ms,
                                   const std::function<bool(const std::string&)>& leads);

} // namespace cafmcp::cluster
