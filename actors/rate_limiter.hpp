#pragma once

// The rate_limiter actor: one token_bucket per key (client or tool).
// Buckets that have refilled completely are dropped, so memory follows the
// number of recently active keys.

#include "actors/token_bucket.hpp"
#include "supervision/child_spec.hpp"

namespace cafmcp::actors {

/// Child spec for the rate limiter (id "rate_limiter").
supervision::child_spec rate_limiter_spec(bucket_config cfg);

} // namespace cafmcp::actors
