#pragma once

// The encrypted backup file (`cafmcp backup`): records as of one cut, in
// chunks that are compressed (zstd) and then sealed with AES-256-GCM, each
// under its own random nonce with the header bound as associated data, and
// a sealed manifest with every chunk's SHA-256, the record count and an
// order-independent digest of the records. No actors and no cluster here:
// a writer that streams records to a file and a reader that checks and
// returns them chunk by chunk.
//
// Layout (integers little-endian):
//   "CAFMCPBK" u32 header_length header(JSON)
//   then frames: u8 kind ('D' data, 'M' manifest, last) u32 length
//                12-byte nonce, ciphertext and 16-byte tag (length bytes)
// A frame's associated data is SHA-256(header) · u64 frame index · kind, so
// a frame moved, dropped, swapped between files or relabelled fails its tag.
//
// Keys: 32 bytes from a key file (raw, or 64 hex digits; mode 0600), or a
// passphrase stretched with scrypt (salt and cost in the header). The
// header names the key by id (the first 8 bytes of SHA-256 of the key, hex)
// so a wrong key is told apart from a damaged file.

#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "cluster/messages.hpp"

namespace cafmcp::cluster {

/// Anything wrong with a backup or its key, said for the operator.
struct backup_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

constexpr int backup_format_version = 1;

/// How the key was made: from a key file, or scrypt over a passphrase.
struct backup_kdf {
  std::string kind = "key-file"; // or "scrypt"
  std::string salt;              // scrypt: 16 random bytes
  uint64_t n = 1u << 15;
  uint64_t r = 8;
  uint64_t p = 1;
};

struct backup_header {
  int version = backup_format_version;
  std::string cluster;              // the members the cut was taken across, comma-separated
  hlc_stamp cut;                    // every record as of this stamp
  uint64_t records = 0;             // how many records the file holds
  std::string key_id;               // names the key (not secret)
  backup_kdf kdf;
  int64_t created_ms = 0;           // wall clock, for people
  std::string taken_by;             // who asked (the operator, or the schedule)
};

/// Where the key comes from. Never the command line: a file, or a
/// passphrase read from a file, the environment or the terminal.
struct backup_secret {
  std::string key_file;
  std::string passphrase;
  bool has_passphrase = false;
};

/// A key and how to make it again (the header's kdf).
struct backup_key {
  std::string bytes; // 32
  backup_kdf kdf;
  std::string id() const;
};

/// The first line of a passphrase file (mode 0600: one others may read is
/// refused). Throws backup_error.
std::string read_passphrase_file(const std::string& path);

/// A new key for writing: the key file's, or scrypt over the passphrase
/// with a fresh salt. Throws backup_error (unreadable or world-readable key
/// file, wrong length, no secret).
backup_key make_backup_key(const backup_secret& s);
/// The key a backup with `kdf` was written with, from `s` (not yet checked
/// against the header's key id).
backup_key reopen_backup_key(const backup_secret& s, const backup_kdf& kdf);
/// Writes a new random 32-byte key file with mode 0600 (never replaces one).
void write_key_file(const std::string& path);

/// An order-independent digest of records: the sum of their SHA-256s
/// modulo 2^256, so two sets are compared without sorting either.
class backup_digest {
public:
  void add(const record_delta& d);
  std::string hex() const;

private:
  unsigned char sum_[32] = {};
};

struct backup_summary {
  uint64_t records = 0;
  uint64_t chunks = 0;
  uint64_t plain_bytes = 0; // records as JSON lines, before compression
  uint64_t file_bytes = 0;
  std::string digest;       // backup_digest of every record
};

/// Streams records into `path`, written as PATH.partial and renamed over
/// PATH only by finish(): a backup that stopped half way never looks whole.
class backup_writer {
public:
  /// Throws backup_error when the file cannot be created (or exists).
  backup_writer(std::string path, backup_header header, backup_key key, size_t chunk_bytes = 1 << 20);
  ~backup_writer(); // removes PATH.partial unless finished
  backup_writer(const backup_writer&) = delete;
  backup_writer& operator=(const backup_writer&) = delete;

  void add(const record_delta& d);
  /// Seals the last chunk and the manifest, syncs the file to disk and
  /// renames it into place. Throws backup_error if the record count differs
  /// from the header's or the disk fails.
  backup_summary finish();

  uint64_t records() const { return summary_.records; }
  uint64_t bytes() const { return summary_.file_bytes; }

private:
  void seal(char kind, const std::string& plain);
  void flush_chunk();

  std::string path_;
  std::string partial_;
  std::ofstream out_;
  std::string header_hash_;
  backup_header header_;
  backup_key key_;
  size_t chunk_bytes_;
  std::string chunk_;
  uint64_t chunk_records_ = 0;
  std::vector<std::pair<std::string, uint64_t>> chunks_; // sha256 hex of each data frame, its records
  backup_digest digest_;
  backup_summary summary_;
  bool finished_ = false;
};

/// Reads a backup: the header at once, the key checked by unlock(), then
/// chunk by chunk; every failure names what is wrong and where.
class backup_reader {
public:
  /// Throws backup_error: not a backup, an unknown format version, a header
  /// that does not parse, a file cut short.
  explicit backup_reader(const std::string& path);

  const backup_header& header() const { return header_; }
  /// Throws backup_error when `key` is not the one the file was written with.
  void unlock(const backup_key& key);
  /// The next data chunk's records (appended to `out`); false once the
  /// manifest was read and every check passed (count, hashes, digest).
  bool next(std::vector<record_delta>& out);
  /// After next() returned false.
  const backup_summary& summary() const { return summary_; }
  /// The file's size, and how far reading has come (for progress).
  uint64_t size() const { return size_; }
  uint64_t position() const { return position_; }

private:
  std::string read_exact(size_t n, const std::string& what);
  /// The manifest against what was read (count, hashes, digest, nothing after it).
  void check_manifest(const nlohmann::json& m);

  std::string path_;
  std::ifstream in_;
  uint64_t size_ = 0, position_ = 0;
  backup_header header_;
  std::string header_hash_;
  backup_key key_;
  bool unlocked_ = false, done_ = false;
  uint64_t index_ = 0;
  std::vector<std::string> chunk_hashes_;
  std::vector<uint64_t> chunk_records_;
  backup_digest digest_;
  backup_summary summary_;
};

/// Reads the whole file through every check without keeping the records.
/// Throws backup_error naming the first problem.
backup_summary verify_backup(const std::string& path, const backup_secret& secret);

} // namespace cafmcp::cluster
