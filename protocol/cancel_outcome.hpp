#pragma once
// How a tasks/cancel ended: an enum inside the node, a string only on the wire between nodes.

#include <optional>
#include <string>
#include <string_view>

namespace cafmcp::protocol {

enum class cancel_outcome { cancelled, already_ended, not_found };

/// "cancelled", "already_ended" or "not_found" (what a task agent answers).
std::string_view to_string(cancel_outcome x);

/// The outcome named by `text`, or nullopt when it names none.
std::optional<cancel_outcome> cancel_outcome_from_string(std::string_view text);

/// A remote node's answer to a cancel: its outcome, or (no outcome) why
/// none came.
struct cancel_reply {
  std::optional<cancel_outcome> outcome;
  std::string error;
};

} // namespace cafmcp::protocol
