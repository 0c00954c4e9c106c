#pragma once

// The audit log: one JSON object per line (who, what, when, result), each
// written durably before its writer answers. Written by a detached actor,
// so the disk never blocks a scheduler thread.
//
// The lines form a keyed chain (docs/OPERATIONS.md, "The audit log"): each
// line ends with `mac`, the hex HMAC-SHA256 under the node's audit key
// (audit_key.hpp) of the line's bytes without the `,"mac":"…"` member; its
// `prev` is the `mac` of the line before (64 zeros for the first line of a
// file). A line changed, removed, inserted or reordered later breaks the
// chain, and without the key it cannot be recomputed: verify_audit_log
// finds where.
//
//   (audit_record_atom, audit_record)  -> void   (once on disk; else an error naming the file)
//   (audit_tail_atom, uint32_t n)      -> vector<string> (the last n lines)

#include <cstdint>
#include <istream>
#include <string>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/meta/type_name.hpp>

namespace cafmcp::audit {

using audit_record_atom = caf::atom_constant<caf::atom("au_record")>;
using audit_tail_atom = caf::atom_constant<caf::atom("au_tail")>;

struct audit_record {
  std::string who;    // the operator, as the client names itself (user@host)
  std::string op;     // restart_child, kill, …
  std::string target; // the path (and child id) it acted on
  std::string result; // "requested" (before the action), "ok" or the error
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, audit_record& x) {
  return f(caf::meta::type_name("audit_record"), x.who, x.op, x.target, x.result);
}

/// Spawns the writer of `path`, chaining under `key` (the audit key's
/// bytes). The file is opened (created 0600) once here, so a log that cannot
/// be written fails at start; then it is opened again for every record
/// (append, write, fdatasync, close), so a log replaced by something
/// unwritable is noticed at the next record, which is answered an error.
caf::expected<caf::actor> spawn_audit_log(caf::actor_system& sys, const std::string& path, const std::string& key);

/// The line written for `r` at `unix_ms` after the line whose mac is `prev`,
/// under `key` (a JSON object without the newline; exposed for tests).
std::string audit_line(const audit_record& r, int64_t unix_ms, const std::string& prev, const std::string& key);

/// `prev` of a log's first record.
extern const std::string audit_genesis;

struct audit_verdict {
  size_t records = 0;     // lines read
  size_t broken_line = 0; // the first line that breaks the chain (1-based); 0: intact
  std::string why;
};

/// Checks every line of an audit log: JSON with the record's fields, its
/// `mac` the HMAC under `key` of the rest of the line, and its `prev` the
/// `mac` of the line before.
audit_verdict verify_audit_log(std::istream& in, const std::string& key);

} // namespace cafmcp::audit
