#pragma once

// One version of a cluster's routing rules, as the members store and
// exchange it: the rules object of the config ({"ID": {...}}), the upstream
// servers every member runs ({"NAME": {...}}, as under "upstreams"), the
// tenants ({"NAME": {...}}, as under "tenants") and its version. Changes make a new document with the next version; the old one
// is never edited, so every member that applies version N applies the same
// rules and runs the same upstreams.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "protocol/route_table.hpp"

namespace cafmcp::protocol {

struct route_document {
  uint64_t version = 1; // 1: the rules of the node's config
  nlohmann::json routes = nlohmann::json::object();
  /// The upstreams, each entry complete (every key, defaults filled in);
  /// nullopt: the node config's (no upstream was changed at run time yet,
  /// or a document written before upstreams were kept here).
  std::optional<nlohmann::json> upstreams = std::nullopt;
  /// The tenants, each entry complete; nullopt: the node config's (no
  /// tenant was changed at run time yet).
  std::optional<nlohmann::json> tenants = std::nullopt;

  /// The next version with rule `id` set to `rule` (JSON text of one
  /// rule, as under "routes" in the config). Throws std::invalid_argument
  /// naming what is wrong: a bad id, bad JSON, a bad rule, or an id in use
  /// without `replace`.
  route_document with_rule(const std::string& id, const std::string& rule, bool replace) const;
  /// The next version without rule `id` (std::invalid_argument: no such rule).
  route_document without_rule(const std::string& id) const;

  /// The next version with upstream `name` set to `entry` (JSON text of one
  /// entry, as under "upstreams" in the config; missing keys get their
  /// defaults), starting from `current` (what `upstreams` holds, or the
  /// config's when it holds nothing). `allowed_programs`: the programs a
  /// stdio upstream added at run time may run (its command's first word);
  /// others are refused. Throws std::invalid_argument naming what is wrong.
  route_document with_upstream(const std::string& name, const std::string& entry, bool replace,
                               const nlohmann::json& current, const std::vector<std::string>& allowed_programs) const;
  /// The next version without upstream `name`, from `current` (std::invalid_argument: none).
  route_document without_upstream(const std::string& name, const nlohmann::json& current) const;

  /// The next version with tenant `name` set to `entry` (JSON text of one
  /// entry, as under "tenants" in the config; missing keys get their
  /// defaults), starting from `current` (what `tenants` holds, or the
  /// config's). Throws std::invalid_argument naming what is wrong.
  route_document with_tenant(const std::string& name, const std::string& entry, bool replace,
                             const nlohmann::json& current) const;
  /// The next version without tenant `name`, from `current` (std::invalid_argument: none).
  route_document without_tenant(const std::string& name, const nlohmann::json& current) const;

  /// The same with what may be secret masked: the values of upstreams'
  /// headers and environment ("Authorization: ***", "KEY=***"). What a
  /// member answers when asked for its version (viewers may ask).
  route_document redacted() const;

  /// The compiled table (null when there are no rules).
  std::shared_ptr<const route_table> compile() const;

  /// {"version": N, "routes": {...}[, "upstreams": {...}][, "tenants": {...}]}: how it is stored and answered.
  std::string to_text() const;
  /// nullopt: not a rules document (or not one this build can read).
  static std::optional<route_document> from_text(const std::string& text);

  /// Whether `other` names the same rules, upstreams and tenants (its version aside).
  bool same_contents(const route_document& other) const {
    return routes == other.routes && upstreams == other.upstreams && tenants == other.tenants;
  }

private:
  /// This one with the next version number: what every change starts from.
  route_document next_version() const {
    auto next = *this;
    ++next.version;
    return next;
  }
};

/// Rule ids: 1 to 64 of a-z, A-Z, 0-9, '_', '-' and '.'.
bool valid_route_id(const std::string& id);

} // namespace cafmcp::protocol
