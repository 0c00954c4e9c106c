#pragma once

// The health checker (tier 3): checks at an interval that every core actor
// is alive and answers health queries. It only reads the name table; core
// actors never wait on it (tier 1 must not depend on tier 3).

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <caf/meta/type_name.hpp>

#include "actors/name_table.hpp"
#include "supervision/child_spec.hpp"

namespace cafmcp::observability {

// (health_atom) -> health_report
using health_atom = caf::atom_constant<caf::atom("ob_health")>;

struct health_check {
  std::string name;
  bool ok = false;
  std::string detail;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, health_check& x) {
  return f(caf::meta::type_name("health_check"), x.name, x.ok, x.detail);
}

struct health_report {
  std::string status; // healthy | degraded
  int64_t checked_at_ms = 0;
  std::vector<health_check> checks;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, health_report& x) {
  return f(caf::meta::type_name("health_report"), x.status, x.checked_at_ms, x.checks);
}

struct health_config {
  std::chrono::milliseconds interval{1000};
  std::vector<std::string> required_actors; // names in the name table
};

/// Child spec for the health checker (id "health").
supervision::child_spec health_spec(health_config cfg, std::shared_ptr<actors::name_table> names);

/// Child spec for observability_sup: one_for_one, isolated from tiers 1–2
/// (its parent restarts it with a backoff, so a crash storm here can never
/// use up the root's restart intensity).
/// `extra`: further tier-3 children (the web endpoint), started after health.
/// `backoff`: its restart delays (supervision.restart_backoff).
supervision::child_spec observability_supervisor(
  health_config cfg, std::shared_ptr<actors::name_table> names, std::vector<supervision::child_spec> extra = {},
  supervision::backoff_policy backoff = {std::chrono::milliseconds{1000}, std::chrono::milliseconds{30000}, 2, 0.2});

void register_types(caf::actor_system_config& cfg);

} // namespace cafmcp::observability
