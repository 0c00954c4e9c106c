#pragma once

// An actor system per test, plus instrumented workers that report their
// starts and stops to the test, so tests wait on events (bounded) instead of
// sleeping.

#include <chrono>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <doctest/doctest.h>

#include "supervision/errors.hpp"
#include "supervision/messages.hpp"
#include "supervision/supervisor.hpp"

namespace cafmcp::test {

using namespace std::chrono_literals;

using started_atom = caf::atom_constant<caf::atom("t_started")>;
using stopped_atom = caf::atom_constant<caf::atom("t_stopped")>;
using crash_atom = caf::atom_constant<caf::atom("t_crash")>;
using finish_atom = caf::atom_constant<caf::atom("t_finish")>;
using args_atom = caf::atom_constant<caf::atom("t_args")>;

constexpr auto wait_limit = std::chrono::seconds(5);

struct test_config : caf::actor_system_config {
  test_config() {
    supervision::register_types(*this);
    set("scheduler.max-threads", 2);
  }
};

/// A worker that tells `observer` when it starts and stops. It crashes on
/// crash_atom, exits normally on finish_atom, and replies to args_atom with
/// its start arguments as a string. With `stubborn`, it ignores exit
/// requests (only kill stops it).
caf::behavior test_worker(caf::event_based_actor* self, std::string name, caf::actor observer,
                          bool stubborn, caf::message args);

/// Start function for a test_worker named `name`.
supervision::start_function worker_start(std::string name, caf::actor observer, bool stubborn = false);

/// A child spec for a test_worker.
supervision::child_spec worker_spec(std::string id, caf::actor observer,
                                    supervision::restart_type restart = supervision::restart_type::permanent);

struct fixture {
  test_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};

  ~fixture();

  /// Supervisors and workers that must die before the system goes.
  std::vector<caf::actor> cleanup;

  caf::actor start_sup(supervision::supervisor_flags flags, std::vector<supervision::child_spec> kids,
                       std::string path = "/test");

  /// Waits for the next started/stopped event and returns the worker name.
  std::string next_started();
  std::string next_stopped();
  /// Expects no started event within `d`.
  bool no_start_within(std::chrono::milliseconds d);

  std::vector<supervision::child_info> which_children(const caf::actor& sup);
  supervision::child_counts count_children(const caf::actor& sup);
  supervision::supervisor_info info(const caf::actor& sup);

  /// Sends a request and returns the resulting actor or error.
  template <class... Ts>
  caf::expected<caf::actor> call(const caf::actor& sup, Ts&&... xs) {
    caf::expected<caf::actor> out{caf::actor{}};
    self->request(sup, wait_limit, std::forward<Ts>(xs)...)
      .receive([&](caf::actor& h) { out = std::move(h); }, [&](caf::error& e) { out = std::move(e); });
    return out;
  }

  /// The handle of the running child with `id`.
  caf::actor child(const caf::actor& sup, const std::string& id);

  /// Waits until `who` is down and returns its exit reason.
  caf::error wait_down(const caf::actor& who);
};

} // namespace cafmcp::test
