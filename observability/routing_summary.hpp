#pragma once

// The dashboard's view of routing and upstream servers, read from their
// counters (docs/ROUTING.md): calls per route and target, fallbacks and
// refusals per route, relayed calls per upstream by outcome, its starts.

#include <nlohmann/json.hpp>

#include "base/metrics.hpp"

namespace cafmcp::observability {

/// {"routes": [{route, targets: {TARGET: calls}, failed: {TARGET: calls}, fallbacks, unavailable}],
///  "upstreams": [{upstream, ok, error, cancelled, starts}]}
nlohmann::json routing_summary(const metrics::metrics_registry& m);

} // namespace cafmcp::observability
