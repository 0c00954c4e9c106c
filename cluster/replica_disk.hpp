#pragma once

// A node's replicas on disk: a snapshot and a write-ahead log (WAL) in the
// node's data directory, so a node that restarts (or a whole cluster that
// does, even all at once) comes back with its sessions, handles and tasks.
//
// - replicas.wal: one line per changed record, "<sha256 of the JSON> <JSON>".
//   With durability fsync the replicator appends before it acknowledges a
//   write and waits for the append's fdatasync (one covers every write that
//   arrived meanwhile); with memory it appends every tick and does not wait.
//   An append that fails is cut back to where it began, so a later one never
//   follows half a line.
// - replicas.snapshot: "cafmcp-replicas 1 <records> <sha256 of the rest>"
//   then one JSON line per record; written to a temporary file, fsynced,
//   renamed, the directory fsynced, and only then the WAL emptied of what
//   the snapshot covers. The replicator sends the periodic snapshot in
//   slices (it serves requests in between, however large the store): the
//   first slice notes the WAL's length, and only that much is dropped at the
//   end; appends made meanwhile stay (replaying them again is harmless:
//   merging is last-write-wins).
// - Loading: a torn final WAL line (a crash in the middle of an append) is
//   dropped quietly and cut off the file. A bad line with good lines after
//   it is damage, not a torn append: replay stops there and the WAL is moved
//   aside (replicas.wal.corrupt-<unix time>). A snapshot whose checksum does
//   not match is moved aside (replicas.snapshot.corrupt-<unix time>) and not
//   loaded. Either way the load is incomplete, and the replicator pulls what
//   it leads from its peers before serving it.
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
#include "cluster/replica_files.hpp"
#include "supervision/child_spec.hpp"

namespace cafmcp::cluster {

/// (disk_append_atom, vector<record_delta>, bool sync) -> ok | cluster error disk_failed
///     appends to the WAL; with sync, answers once fdatasync returned
/// (disk_snapshot_atom, vector<record_delta>) -> ok | disk_failed
///     writes a snapshot durably, then empties the WAL
/// (disk_load_atom) -> (vector<record_delta>, bool incomplete)
///     what the files hold (snapshot, then WAL), damaged files set aside
using disk_append_atom = caf::atom_constant<caf::atom("dk_append")>;
using disk_snapshot_atom = caf::atom_constant<caf::atom("dk_snap")>;
using disk_load_atom = caf::atom_constant<caf::atom("dk_load")>;
/// (disk_snapshot_part_atom, uint64 id, vector<record_delta>, bool first, bool last) -> ok | disk_failed
///     one slice of a snapshot: `first` starts it (and notes the WAL's length), `last` writes it
using disk_snapshot_part_atom = caf::atom_constant<caf::atom("dk_snappt")>;

/// Reads `dir`'s snapshot and WAL (missing files are no error); changes
/// nothing on disk.
disk_load load_replicas(const std::string& dir);
/// Acts on what `load_replicas` found: cuts a torn tail off the WAL, moves a
/// damaged WAL or snapshot aside (suffix ".corrupt-<unix_time>"). Returns
/// what it did, one sentence per file ("" when nothing was wrong).
std::string set_aside_damage(const std::string& dir, const disk_load& load, int64_t unix_time);
/// Writes the snapshot durably (temporary file, fsync, rename, directory
/// fsync), then empties the WAL; false with `err`.
bool write_snapshot(const std::string& dir, const std::vector<record_delta>& records, std::string& err);

/// The WAL's length in bytes (0 when there is none).
uint64_t wal_size(const std::string& dir);

/// A snapshot gathered slice by slice, then written like write_snapshot,
/// except that only the WAL's first `wal_bytes` (its length when the
/// snapshot began) are dropped: appends made since stay.
class snapshot_in_slices {
public:
  snapshot_in_slices(uint64_t id, uint64_t wal_bytes) : id_(id), wal_bytes_(wal_bytes) {}
  uint64_t id() const { return id_; }
  void add(const std::vector<record_delta>& records);
  bool write(const std::string& dir, std::string& err) const;

private:
  uint64_t id_;
  uint64_t wal_bytes_;
  std::string body_;
  size_t count_ = 0;
};
/// Appends to the WAL, with `sync` through fdatasync; false with `err`, and
/// then the file is as it was before.
bool append_wal(const std::string& dir, const std::vector<record_delta>& records, bool sync, std::string& err);

/// The disk actor's child spec (id "replica_disk", detached; registered as
/// "replica_disk" in `names`). It creates `dir` if needed.
supervision::child_spec replica_disk_spec(std::string dir, std::shared_ptr<actors::name_table> names);

} // namespace cafmcp::cluster
