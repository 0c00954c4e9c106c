#pragma once

// Error codes of the cluster layer (category "cluster").

#include <cstdint>
#include <string>

#include <caf/atom.hpp>
#include <caf/error.hpp>

namespace cafmcp::cluster {

enum class errc : uint8_t {
  wrong_cookie = 1,   // the handshake proof does not match: the peer has another cookie
  not_authenticated,  // a message from a node that has not completed the handshake
  unknown_node,       // no member has that name
  unreachable,        // the member is known but not connected
  no_handshake,       // auth without a preceding hello
  timeout,            // no answer in time
  no_node,            // nothing answers at that address
  unexpected_answer,  // an answer of another type than the call's
  fenced,             // this node is on the losing side of a partition: it takes no writes
  no_quorum,          // too few replicas up, or too few acknowledged in time, for the write consistency
  placement_moving,   // members disagree about a record's primary for a moment (retry)
  bad_certificate,    // the peer's certificate does not chain to our CA, or does not name it
  forbidden,          // the caller's role (or a member's) may not do that, or that actor is internal
  clock_drift,        // a replicated write stamped too far ahead of our clock
  audit_failed,       // the audit record could not be written, so the action was not taken
  disk_failed,        // this node's replicas could not be written to its disk (a write needing it is refused)
  cut_not_ready,      // a backup's cut cannot be read here yet: the clock has not passed it, or records await repair (retry)
  cut_busy,           // another backup's cut is under way on this member
  cut_gone,           // no cut by that id here (ended, or expired after a minute unused)
};

constexpr caf::atom_value error_category = caf::atom("cluster");

std::string to_string(errc x);
caf::error make_error(errc x, std::string context = {});
bool is(const caf::error& e, errc x);

} // namespace cafmcp::cluster
