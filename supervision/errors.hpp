#pragma once

// The supervision library's error codes, mirroring OTP's {error, Reason}
// results of the supervisor API.

#include <cstdint>
#include <string>

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/message.hpp>

namespace cafmcp::supervision {

enum class errc : uint8_t {
  already_present = 1, // start_child: a spec with this id exists, child not running
  already_started,     // start_child: a spec with this id exists and runs
  running,             // restart_child/delete_child: the child runs
  restarting,          // restart_child/delete_child: a restart is pending
  not_found,           // no child with this id
  simple_one_for_one,  // operation not available under simple_one_for_one
  start_failed,        // a start function failed (context: id and reason)
  bad_spec,            // a child spec or start request is malformed
  shutting_down,       // the supervisor is stopping
  audit_failed,        // admin: the audit record could not be written, so the change was not made
};

constexpr caf::atom_value error_category = caf::atom("supervise");

std::string to_string(errc x);

caf::error make_error(errc x);
caf::error make_error(errc x, std::string context);

/// True when `e` is the supervision error `x`.
bool is(const caf::error& e, errc x);

} // namespace cafmcp::supervision
