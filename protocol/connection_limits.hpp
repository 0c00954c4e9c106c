#pragma once
// How many connections an HTTP server holds at once, in all and per client address: admit or refuse, release.

#include <cstddef>
#include <map>
#include <optional>
#include <string>

namespace cafmcp::protocol {

/// Counts open connections. Not thread-safe: the server guards it.
class connection_limits {
public:
  connection_limits(size_t max_total, size_t max_per_client)
    : max_total_(max_total), max_per_client_(max_per_client) {}

  enum class refusal { node_limit, client_limit };

  /// Admits (and counts) a connection from `client`, or says why not: the
  /// node holds `max_total` already, or this client `max_per_client` (so
  /// one address flooding the port cannot take every slot).
  std::optional<refusal> admit(const std::string& client);

  /// A connection admitted for `client` ended.
  void release(const std::string& client);

  size_t open() const { return open_; }
  size_t open_from(const std::string& client) const;
  size_t max_total() const { return max_total_; }
  size_t max_per_client() const { return max_per_client_; }

private:
  size_t max_total_;
  size_t max_per_client_;
  size_t open_ = 0;
  std::map<std::string, size_t> per_client_; // only clients with open connections
};

/// The bytes queued on one connection for its reader (an SSE stream): a
/// reader slower than the events is cut off at `limit`, never buffered for
/// without bound.
class write_backlog {
public:
  explicit write_backlog(size_t limit) : limit_(limit) {}

  /// Counts `n` more queued bytes; false when the backlog is now past the limit.
  bool add(size_t n) {
    bytes_ += n;
    return bytes_ <= limit_;
  }

  /// `n` queued bytes were written.
  void written(size_t n) { bytes_ -= n < bytes_ ? n : bytes_; }

  size_t bytes() const { return bytes_; }

private:
  size_t limit_;
  size_t bytes_ = 0;
};

/// "node_limit" / "client_limit" (metric labels, log lines).
const char* to_string(connection_limits::refusal r);

} // namespace cafmcp::protocol
