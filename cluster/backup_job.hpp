#pragma once

// Backups and restores of a whole cluster through one member's node actor
// (cafmcp backup, and the scheduled backups of observability/backup_schedule).
// Blocking: call from a thread of your own (the CLI, a detached actor).
//
// A backup is a cut: every up member keeps its records as of one stamp
// (chosen a little ahead of every member's clock, so that no member has
// written past it yet), then each member's records it leads are read page
// by page into a backup_writer. A write acknowledged before the backup
// started is stamped before the cut, so it is in the file. A change of
// membership while the backup runs fails it (records may have moved).
//
// A restore reads the whole file through every check first, so a damaged
// file or a wrong key changes nothing; then it sends the records in batches
// to the attached member, which hands each to every replica placement names
// and answers once they hold it. Merging is last-write-wins by stamp: newer
// data in the cluster stays, unless `overwrite` stamps the backup's values
// now.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "cluster/backup_file.hpp"
#include "cluster/messages.hpp"

namespace cafmcp::cluster {

struct backup_progress {
  std::string phase;       // "cut", "read", "verify", "restore"
  uint64_t done = 0;       // records so far
  uint64_t total = 0;      // records in all
  uint64_t bytes = 0;      // file bytes so far
  std::chrono::milliseconds elapsed{0};
};

using progress_fn = std::function<void(const backup_progress&)>;

struct backup_options {
  std::string out;                            // the file (never replaced)
  backup_key key;                             // make_backup_key: a bad key fails before the cluster is asked
  std::string taken_by;                       // who asked: in the header and the audit log
  std::chrono::milliseconds timeout{30000};   // each call to a member
  std::chrono::milliseconds settle{60000};    // how long members may take to be ready to list their records
  uint32_t page = 1000;                       // records per read
  progress_fn progress;
};

struct backup_result {
  backup_summary summary;
  hlc_stamp cut;
  std::vector<cut_part> parts; // per member
  std::chrono::milliseconds took{0};
};

/// Throws backup_error naming what failed; the file is then not there.
backup_result run_backup(caf::actor_system& sys, const caf::actor& node, const backup_options& o);

struct restore_options {
  std::string file;
  backup_secret secret;
  bool overwrite = false;
  std::string by;                           // who asked: in the audit log
  std::chrono::milliseconds timeout{30000}; // each batch
  size_t batch = 500;                       // records per batch
  progress_fn progress;
};

struct restore_result {
  backup_header header;
  backup_summary summary; // what the file held (checked before anything was sent)
  uint64_t restored = 0;
  std::chrono::milliseconds took{0};
};

/// Throws backup_error; before any record is sent when the file or key is
/// bad. A failure half way says how many records were restored (restoring
/// again is harmless: merging is idempotent).
restore_result run_restore(caf::actor_system& sys, const caf::actor& node, const restore_options& o);

} // namespace cafmcp::cluster
