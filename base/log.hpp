#pragma once

// The process-wide log sink. Every part logs through it so that a line names
// the node and the actor path it is about. It writes synchronously under a
// mutex: a log line never waits on an actor (tier 1 must not wait on tier 3).

#include <string>
#include <string_view>

namespace cafmcp::log {

enum class level { debug, info, warning, error };
enum class format { text, json };

/// Parses "debug", "info", "warning" or "error".
bool parse_level(std::string_view name, level& out);
/// Parses "text" or "json".
bool parse_format(std::string_view name, format& out);
std::string_view to_string(level x);

/// Sets the minimum level, the line format and the node name for all lines.
void configure(level min, format fmt, std::string node_name);

/// Appends lines to the file at `path` instead of stderr; "" when it is
/// open, else why it could not be opened (lines then stay on stderr).
std::string write_to_file(const std::string& path);

/// True when lines at `x` are written (cheap; check before building text).
bool enabled(level x);

/// Writes one line (to stderr or the log file): `path` names the actor (e.g. /root/core_sup).
void write(level x, std::string_view path, std::string_view message);

/// While it lives, every line this thread writes carries `id` (the
/// X-Correlation-ID of the request it works for) and, with bearer
/// authorisation, whom the request acts for: its `subject` and `tenant`
/// ("": not shown); scopes nest.
class correlation_scope {
public:
  explicit correlation_scope(std::string id, std::string subject = {}, std::string tenant = {});
  ~correlation_scope();
  correlation_scope(const correlation_scope&) = delete;
  correlation_scope& operator=(const correlation_scope&) = delete;

  struct tags {
    std::string correlation, subject, tenant;
  };

private:
  tags previous_;
};

/// The correlation id of this thread's current request ("": none).
const std::string& current_correlation();

inline void debug(std::string_view path, std::string_view msg) { write(level::debug, path, msg); }
inline void info(std::string_view path, std::string_view msg) { write(level::info, path, msg); }
inline void warning(std::string_view path, std::string_view msg) { write(level::warning, path, msg); }
inline void error(std::string_view path, std::string_view msg) { write(level::error, path, msg); }

} // namespace cafmcp::log
