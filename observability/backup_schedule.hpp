#pragma once

// Scheduled backups (config "backup"; tier 3, optional): every interval the
// cluster's leader takes a backup of the whole cluster (cluster/backup_job)
// into the configured directory, keeps the newest `retention` files and
// deletes older ones. A failed backup is retried with backoff and raises
// the "backup" alert (/health, the dashboard) until one succeeds. The
// backup itself runs in a detached worker (it blocks on the members'
// answers and on the disk); this actor only keeps time.

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/name_table.hpp"
#include "base/config_schema.hpp"
#include "base/metrics.hpp"
#include "cluster/cluster_view.hpp"
#include "supervision/child_spec.hpp"

namespace cafmcp::observability {

struct backup_schedule_config {
  bool enabled = false;
  std::chrono::milliseconds interval{3600000};
  std::string directory;
  size_t retention = 7;
  std::string key_file;
  std::string passphrase_file;
  supervision::backoff_policy retry{std::chrono::milliseconds{10000}, std::chrono::milliseconds{600000}, 2, 0.2};
  std::string node_name;
};

/// The "backup" section's keys.
config::field backup_config_field();
/// Throws config::config_error (enabled without a directory or a key).
backup_schedule_config backup_config_from(const nlohmann::json& validated);

/// The schedule's last outcome, shared with the web endpoint (alert, health).
class backup_status {
public:
  struct view {
    bool enabled = false;
    bool running = false;
    uint64_t succeeded = 0, failed = 0;
    uint32_t failing = 0;       // failures since the last success
    int64_t last_success_ms = 0; // Unix ms (0: none yet)
    std::string last_file;
    std::string last_error;
    int64_t next_attempt_ms = 0;
  };

  view get() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return v_;
  }

  template <class F>
  void update(F f) {
    std::lock_guard<std::mutex> guard{mtx_};
    f(v_);
  }

private:
  mutable std::mutex mtx_;
  view v_;
};

/// "cafmcp-backup-20261203T101500123Z.bak" (UTC, to the ms) for Unix time `ms`.
std::string backup_file_name(int64_t ms);
/// Of the scheduled backups in `names` (others are ignored), the ones to
/// delete so that the newest `keep` remain (oldest first).
std::vector<std::string> expired_backups(std::vector<std::string> names, size_t keep);

/// The schedule's child spec (id "backup_schedule").
supervision::child_spec backup_schedule_spec(backup_schedule_config cfg, std::shared_ptr<actors::name_table> names,
                                             std::shared_ptr<cluster::cluster_view> view,
                                             std::shared_ptr<backup_status> status,
                                             std::shared_ptr<metrics::metrics_registry> metrics);

} // namespace cafmcp::observability
