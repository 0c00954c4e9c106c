#pragma once

// A node's replicas on disk: a snapshot and a write-ahead log (WAL) in the
// node's data directory, so a node that restarts (or a whole cluster that
// does) comes back with its sessions, handles and tasks.
//
// - replicas.wal: one line per changed record, "<sha256 of the JSON> <JSON>",
//   appended by the replicator every tick (100 ms); a line whose checksum
//   does not match (a torn write, a flipped bit) is reported and skipped.
// - replicas.snapshot: "cafmcp-replicas 1 <records> <sha256 of the rest>"
//   then one JSON line per record; written to a temporary file and renamed,
//   at an interval and on shutdown, after which the WAL starts afresh. A
//   snapshot whose checksum does not match is reported and not loaded at all.
//
// The files are read and written by a detached actor (replica_disk), never
// on a scheduler thread.

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/name_table.hpp"
#include "cluster/messages.hpp"
#include "supervision/child_spec.hpp"

namespace cafmcp::cluster {

/// (disk_append_atom, vector<record_delta>)  appends to the WAL (one-way)
/// (disk_snapshot_atom, vector<record_delta>) writes a snapshot, truncates the WAL (one-way)
/// (disk_load_atom) -> vector<record_delta>    what the files hold (snapshot, then WAL)
using disk_append_atom = caf::atom_constant<caf::atom("dk_append")>;
using disk_snapshot_atom = caf::atom_constant<caf::atom("dk_snap")>;
using disk_load_atom = caf::atom_constant<caf::atom("dk_load")>;

struct disk_load {
  std::vector<record_delta> records; // in the order to merge them
  size_t from_snapshot = 0;
  size_t from_wal = 0;
  size_t bad_lines = 0;          // WAL lines skipped (checksum or format)
  bool snapshot_corrupt = false; // present but not loaded
  std::string problem;           // what was wrong, for the log
};

/// "<sha256 hex> <json>" (no newline).
std::string encode_wal_line(const record_delta& d);
/// The record of a WAL line, or nullopt when its checksum or format is bad.
std::optional<record_delta> decode_wal_line(const std::string& line);

/// Reads `dir`'s snapshot and WAL (missing files are no error).
disk_load load_replicas(const std::string& dir);
/// Writes the snapshot atomically and empties the WAL; false with `err`.
bool write_snapshot(const std::string& dir, const std::vector<record_delta>& records, std::string& err);
/// Appends to the WAL; false with `err`.
bool append_wal(const std::string& dir, const std::vector<record_delta>& records, std::string& err);

/// The disk actor's child spec (id "replica_disk", detached; registered as
/// "replica_disk" in `names`). It creates `dir` if needed.
supervision::child_spec replica_disk_spec(std::string dir, std::shared_ptr<actors::name_table> names);

} // namespace cafmcp::cluster
