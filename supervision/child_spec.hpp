#pragma once

// Child specifications and supervisor flags: the data an OTP supervisor is
// configured with (supervisor:child_spec() and sup_flags()).

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/actor.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/message.hpp>

namespace cafmcp::supervision {

enum class strategy : uint8_t { one_for_one, one_for_all, rest_for_one, simple_one_for_one };
enum class restart_type : uint8_t { permanent, transient, temporary };
enum class child_type : uint8_t { worker, supervisor };

std::string_view to_string(strategy x);
std::string_view to_string(restart_type x);
std::string_view to_string(child_type x);
bool parse(std::string_view name, strategy& out);
bool parse(std::string_view name, restart_type& out);
bool parse(std::string_view name, child_type& out);

/// How a child is stopped: brutal_kill (untrappable kill at once), a timeout
/// (an exit request with reason user_shutdown, then a kill when it passes),
/// or infinity (wait for as long as the child needs; the default for
/// supervisors).
struct shutdown_spec {
  enum class kind : uint8_t { brutal_kill, timeout, infinity };
  kind how = kind::timeout;
  std::chrono::milliseconds timeout{5000};

  static shutdown_spec brutal_kill() { return {kind::brutal_kill, std::chrono::milliseconds{0}}; }
  static shutdown_spec after(std::chrono::milliseconds t) { return {kind::timeout, t}; }
  static shutdown_spec infinity() { return {kind::infinity, std::chrono::milliseconds{0}}; }
};

/// What a start function gets: the actor system, the child's full path
/// (e.g. /root/core_sup/registry) and its start arguments (the spec's
/// arguments, followed by start_child's extra arguments under
/// simple_one_for_one).
struct start_context {
  caf::actor_system& system;
  std::string path;
  caf::message args;
};

/// Starts a child and returns its handle. The supervisor links to the handle.
/// An error (or an exception) is a failed start. An empty handle means
/// "ignore" as in OTP: the spec is kept but no child runs.
using start_function = std::function<caf::expected<caf::actor>(const start_context&)>;

/// Restart delay that grows by `multiplier` on each consecutive restart from
/// `initial` up to `max`, spread by ±`jitter` (a share of the delay, so
/// children that died together do not come back together), and starts over
/// once the child has stayed up for `reset_after` (0: `max`). Restarts with
/// a backoff do not count towards the supervisor's intensity: the delay
/// itself bounds their rate. Beyond OTP; for children that talk to the
/// outside (supervision/restart_backoff.hpp computes it).
struct backoff_policy {
  std::chrono::milliseconds initial{0};
  std::chrono::milliseconds max{0};
  double multiplier = 2;
  double jitter = 0;
  std::chrono::milliseconds reset_after{0};
  bool enabled() const { return initial.count() > 0; }
};

struct child_spec {
  std::string id;
  start_function start;
  restart_type restart = restart_type::permanent;
  /// Unset: 5 s for workers, infinity for supervisors (OTP's defaults).
  std::optional<shutdown_spec> shutdown;
  child_type type = child_type::worker;
  caf::message args;
  backoff_policy backoff;
  /// The node can serve without this child (observability, an exporter, a
  /// key fetcher, an upstream server). Its restarts are counted in a window
  /// of its own, never towards its siblings'; when they exceed the
  /// supervisor's intensity in its period the child is parked instead of
  /// the supervisor giving up: retried after its backoff (else after
  /// default_park_backoff) and shown as "parked" (the node reports itself
  /// degraded) until a start succeeds. Required children (the default)
  /// keep OTP's escalation.
  bool optional = false;
  /// The child answers mailbox_atom (worker_child and supervisors do). Only
  /// such children are asked: an unexpected message would be printed to
  /// stdout by CAF's default handler, and stdout may carry MCP (stdio).
  bool answers_mailbox = false;

  shutdown_spec effective_shutdown() const {
    if (shutdown)
      return *shutdown;
    return type == child_type::supervisor ? shutdown_spec::infinity()
                                          : shutdown_spec::after(std::chrono::milliseconds{5000});
  }
};

/// How a parked optional child without a backoff of its own is retried.
inline backoff_policy default_park_backoff() {
  return backoff_policy{std::chrono::milliseconds{1000}, std::chrono::milliseconds{60000}, 2, 0.2,
                        std::chrono::milliseconds{0}};
}

/// OTP's sup_flags; the defaults are OTP's (one_for_one, 1 restart in 5 s).
struct supervisor_flags {
  strategy how = strategy::one_for_one;
  int intensity = 1;
  std::chrono::milliseconds period{5000};
};

} // namespace cafmcp::supervision
