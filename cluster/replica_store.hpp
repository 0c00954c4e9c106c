#pragma once

// The records one node holds as a replica (primary or backup): legacy
// sessions, state handles and tasks, each a set of fields with the hybrid
// logical clock stamp of its last write. Merging keeps, per field, the value
// with the greater stamp (last write wins), so replicas that saw the same
// writes in any order hold the same record. Deletion and expiry are writes
// too (the field "m:gone"), so they replicate like any other. No actor
// here: the replicator owns one store.
//
// Field names: "d:KEY" the record's key/value data; "m:created",
// "m:active" (last activity), "m:ttl" (ms), "m:info" (what the record is,
// JSON), "m:gone" ("1" once deleted or expired), "m:pin" (the member it was
// migrated to: its primary while that member is up).

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/messages.hpp"
#include "cluster/messages.hpp"

namespace cafmcp::cluster {

namespace field {
constexpr const char* created = "m:created";
constexpr const char* active = "m:active";
constexpr const char* ttl = "m:ttl";
constexpr const char* info = "m:info";
constexpr const char* gone = "m:gone";
constexpr const char* pin = "m:pin"; // migrate_session: the member that leads it
inline std::string data(const std::string& key) { return "d:" + key; }
} // namespace field

class replica_store {
public:
  /// Merges a delta or full copy; true when any field changed.
  bool merge(const record_delta& d);

  /// The record's fields, or nullptr when this node holds nothing of it.
  const std::map<std::string, field_value>* find(const std::string& id) const;

  /// Held, and neither deleted nor expired.
  bool live(const std::string& id) const;

  /// Every field of the record (empty fields when not held).
  record_delta full(const std::string& id) const;

  /// The record as the session manager's API shows it.
  actors::session_record to_session(const std::string& id) const;

  /// A field's value ("" when absent) and its integer reading (0 when absent).
  std::string value(const std::string& id, const std::string& name) const;
  int64_t number(const std::string& id, const std::string& name) const;

  /// The greatest stamp of any field of the record.
  hlc_stamp last_write(const std::string& id) const;

  void erase(const std::string& id) { records_.erase(id); }
  size_t size() const { return records_.size(); }
  std::vector<std::string> ids() const;

  // -- a backup's cut ------------------------------------------------------------
  /// From now until end_cut(), a write stamped after `at` that replaces a
  /// value stamped at or before it keeps that value aside, so at_cut() reads
  /// every record as it was at `at` however long the backup takes. (Only the
  /// replaced values are kept: memory grows with the writes meanwhile.)
  void begin_cut(const hlc_stamp& at);
  void end_cut();
  bool cutting() const { return cutting_; }
  const hlc_stamp& cut() const { return cut_; }
  /// The record as of the cut (no fields: it did not exist then).
  record_delta at_cut(const std::string& id) const;
  /// Values kept aside for the cut (for status and tests).
  size_t kept_for_cut() const;

private:
  std::unordered_map<std::string, std::map<std::string, field_value>> records_;
  bool cutting_ = false;
  hlc_stamp cut_;
  std::unordered_map<std::string, std::map<std::string, field_value>> before_cut_;
};

/// Whether a record's fields describe a live record: created, and neither
/// deleted nor expired.
bool live_fields(const std::map<std::string, field_value>& fields);

} // namespace cafmcp::cluster
