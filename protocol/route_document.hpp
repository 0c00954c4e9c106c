#pragma once

// One version of a cluster's routing rules, as the members store and
// exchange it: the rules object of the config ({"ID": {...}}) and its
// version. Changes make a new document with the next version; the old one
// is never edited, so every member that applies version N applies the same
// rules.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "protocol/route_table.hpp"

namespace cafmcp::protocol {

struct route_document {
  uint64_t version = 1; // 1: the rules of the node's config
  nlohmann::json routes = nlohmann::json::object();

  /// The next version with rule `id` set to `rule` (JSON text of one
  /// rule, as under "routes" in the config). Throws std::invalid_argument
  /// naming what is wrong: a bad id, bad JSON, a bad rule, or an id in use
  /// without `replace`.
  route_document with_rule(const std::string& id, const std::string& rule, bool replace) const;
  /// The next version without rule `id` (std::invalid_argument: no such rule).
  route_document without_rule(const std::string& id) const;

  /// The compiled table (null when there are no rules).
  std::shared_ptr<const route_table> compile() const;

  /// {"version": N, "routes": {...}}: how it is stored and answered.
  std::string to_text() const;
  /// nullopt: not a rules document (or not one this build can read).
  static std::optional<route_document> from_text(const std::string& text);
};

/// Rule ids: 1 to 64 of a-z, A-Z, 0-9, '_', '-' and '.'.
bool valid_route_id(const std::string& id);

} // namespace cafmcp::protocol
