#pragma once
// The replica files' formats: WAL lines and the snapshot, encoded and read back from their text (no disk, no actors here).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cluster/messages.hpp"

namespace cafmcp::cluster {

struct disk_load {
  std::vector<record_delta> records; // in the order to merge them
  size_t from_snapshot = 0;
  size_t from_wal = 0;
  bool torn_tail = false;        // the WAL's last line was torn (dropped)
  uint64_t wal_good_bytes = 0;   // the WAL up to its last good line
  size_t wal_stopped_at = 0;     // 1-based line where replay stopped at damage (0: it did not)
  size_t wal_not_replayed = 0;   // lines from there on
  bool snapshot_corrupt = false; // present but not loaded
  std::string problem;           // what was wrong, for the log

  /// Records may be missing: the node must not serve from this alone.
  bool incomplete() const { return snapshot_corrupt || wal_stopped_at > 0; }
};

/// "<sha256 hex> <json>" (no newline).
std::string encode_wal_line(const record_delta& d);
/// The record of a WAL line, or nullopt when its checksum or format is bad.
std::optional<record_delta> decode_wal_line(const std::string& line);

/// One snapshot record's line (no newline).
std::string encode_snapshot_record(const record_delta& d);
/// A snapshot record's line read back, or nullopt when it does not parse.
std::optional<record_delta> decode_snapshot_record(const std::string& line);
/// The snapshot's first line for `count` records whose lines are `body`
/// ("cafmcp-replicas 1 <count> <sha256 of body>", no newline).
std::string snapshot_header(size_t count, const std::string& body);

/// Reads a snapshot file's text into `out` (records, from_snapshot), or
/// marks it corrupt with the problem named.
void read_snapshot(const std::string& text, disk_load& out);
/// Reads a WAL file's text into `out` after what is there already: the
/// good lines, a torn last line, or where damage stopped the replay.
void read_wal(const std::string& text, disk_load& out);

} // namespace cafmcp::cluster
