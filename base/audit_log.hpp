#pragma once

// The audit log: one JSON object per line, appended and synced per record
// (who, what, when, result). Written by a detached actor, so the disk never
// blocks a scheduler thread. Each record carries `prev`, the SHA-256 of the
// line before it (64 zeros for the first): a line changed, removed or
// inserted later breaks the chain, and verify_audit_log finds where.
//
//   (audit_record_atom, audit_record)  -> void   (once written)
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
  std::string result; // "ok" or the error
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, audit_record& x) {
  return f(caf::meta::type_name("audit_record"), x.who, x.op, x.target, x.result);
}

/// Opens (creates, appends to) `path` and spawns its writer; an error names
/// the file and why it cannot be written.
caf::expected<caf::actor> spawn_audit_log(caf::actor_system& sys, const std::string& path);

/// The line written for `r` at `unix_ms` after the line hashing to `prev`
/// (a JSON object without the newline; exposed for tests).
std::string audit_line(const audit_record& r, int64_t unix_ms, const std::string& prev);

/// `prev` of a log's first record.
extern const std::string audit_genesis;

struct audit_verdict {
  size_t records = 0;     // lines read
  size_t broken_line = 0; // the first line that breaks the chain (1-based); 0: intact
  std::string why;
};

/// Checks every line of an audit log: JSON with the record's fields, and
/// `prev` equal to the SHA-256 of the line before.
audit_verdict verify_audit_log(std::istream& in);

} // namespace cafmcp::audit
