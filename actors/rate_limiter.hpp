#pragma once

// The rate_limiter actor: serves the node's rate_limits (the request path
// uses them directly) to the shell and the metrics, changes them at run
// time, and prunes idle client keys.

#include <memory>

#include "actors/rate_limits.hpp"
#include "supervision/child_spec.hpp"

namespace cafmcp::actors {

/// Child spec for the rate limiter (id "rate_limiter"); its incarnations
/// share `limits`, so a restart loses no limit.
supervision::child_spec rate_limiter_spec(std::shared_ptr<rate_limits> limits);

} // namespace cafmcp::actors
