#pragma once

// The signing keys of a JWKS URL as the MCP transport sees them: the key
// set of the last fetch that worked, why the last one failed, and requests
// waiting for an early fetch (a token naming a key the set lacks, as when
// the provider rotates its keys). The jwks_fetcher actor fills it; any
// transport thread reads it.

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "protocol/jwks_schedule.hpp"
#include "protocol/jwt_verifier.hpp"

namespace cafmcp::protocol {

class jwks_store {
public:
  using clock = jwks_schedule::clock;

  jwks_store(std::string url, std::string ca_file, std::chrono::seconds refresh, std::chrono::seconds least);

  const std::string& url() const { return url_; }
  /// PEM file of the CAs trusted for the URL ("": the system's).
  const std::string& ca_file() const { return ca_file_; }

  /// The key set; null until a fetch has worked.
  std::shared_ptr<const std::vector<jwk>> keys() const;
  /// Why the last fetch failed ("": it worked, or none has ended yet).
  std::string last_error() const;

  // The fetcher's side.

  /// Whether a fetch is due at `now`; when it is, it counts as begun.
  bool begin_fetch(clock::time_point now);
  /// The fetch that began has ended with `keys`, or `error`; runs the
  /// requests that waited for it.
  void end_fetch(clock::time_point now, std::optional<std::vector<jwk>> keys, const std::string& error);
  clock::time_point next_fetch() const;
  /// How to wake the fetcher for an early fetch (empty: none is running).
  void on_wake(std::function<void()> wake);

  // The transport's side.

  /// A token names a key the set lacks (or there is no set yet). When a
  /// fetch is under way or an early one may be made, `then` runs (on the
  /// fetcher's thread) once it has ended, and the answer is true; false
  /// when an early fetch was made too recently (jwks_min_refresh_s).
  bool await_fetch(std::function<void()> then);

private:
  std::string url_;
  std::string ca_file_;
  mutable std::mutex mtx_;
  jwks_schedule schedule_;
  bool fetching_ = false;
  std::shared_ptr<const std::vector<jwk>> keys_;
  std::string error_;
  std::vector<std::function<void()>> waiting_;
  std::function<void()> wake_;
};

} // namespace cafmcp::protocol
