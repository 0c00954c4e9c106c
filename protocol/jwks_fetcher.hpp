#pragma once

// The jwks_fetcher: a detached actor under protocol_sup that fetches the
// identity provider's JWKS URL (libcurl: HTTPS, or HTTP on a loopback host)
// when its jwks_store says a fetch is due, and puts the keys there. A
// failed fetch keeps the last good key set and is retried with backoff.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/metrics.hpp"
#include "protocol/jwks_store.hpp"
#include "supervision/child_spec.hpp"

namespace cafmcp::protocol {

/// One GET of a JWKS document: its body, or (in `error`) why not. Bounded
/// in time and size; redirects are not followed.
std::optional<std::string> fetch_jwks_document(const std::string& url, const std::string& ca_file,
                                               std::string& error);

/// Whether `url` may be fetched: https://, or http:// to a loopback host
/// (a provider on the same machine, tests). "" when it may; else why not.
std::string check_jwks_url(const std::string& url);

/// The fetcher's child spec (id "jwks_fetcher", detached: it blocks on its
/// HTTP requests, never a scheduler thread).
supervision::child_spec jwks_fetcher_spec(std::shared_ptr<jwks_store> store,
                                          std::shared_ptr<metrics::metrics_registry> metrics);

} // namespace cafmcp::protocol
