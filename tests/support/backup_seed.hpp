#pragma once

// A backup file of records shaped like the runtime's, written directly (no
// cluster): restored with `cafmcp backup restore`, it gives a test a large
// cluster in seconds.

#include <chrono>
#include <cstdint>
#include <string>

#include "cluster/backup_file.hpp"
#include "cluster/replica_store.hpp"

namespace cafmcp::test {


inline int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
    .count();
}

/// A backup file of `n` records shaped like the runtime's (handles, legacy
/// sessions and finished tasks), written now, as a cluster's would be.
/// `age_ms` back in time (their stamps and last activity), with a TTL that outlives it.
inline void write_seed(const std::string& path, const std::string& key_file, size_t n, int64_t age_ms = 0) {
  cluster::backup_secret s;
  s.key_file = key_file;
  cluster::backup_header h;
  h.cluster = "seed";
  auto now = static_cast<uint64_t>(now_ms() - age_ms);
  h.cut = cluster::hlc_stamp{now + 1, 0, ""};
  h.records = n;
  cluster::backup_writer w{path, h, cluster::make_backup_key(s)};
  for (size_t i = 0; i < n; ++i) {
    cluster::record_delta d;
    d.id = "seed" + std::to_string(i);
    auto at = [&](uint32_t k) { return cluster::hlc_stamp{now, k, "seed"}; };
    auto field = [&](const std::string& name, const std::string& value, uint32_t k) {
      d.fields[name] = cluster::field_value{value, at(k)};
    };
    field(cluster::field::created, std::to_string(now), 0);
    field(cluster::field::active, std::to_string(now), 0);
    field(cluster::field::ttl, std::to_string(3600000 + age_ms), 0);
    if (i % 10 == 9) {
      field(cluster::field::info, R"({"kind":"task","owner":"n1","tool":"echo","arguments":{"text":"x"}})", 0);
      field(cluster::field::data("state"), R"({"status":"completed"})", 1);
    } else if (i % 3 == 2) {
      field(cluster::field::info, R"({"kind":"session","protocolVersion":"2025-06-18"})", 0);
    } else {
      field(cluster::field::data("k"), "value-" + std::to_string(i), 1);
    }
    w.add(d);
  }
  w.finish();
}

} // namespace cafmcp::test
