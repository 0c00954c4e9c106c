// How a tasks/cancel ended, and its wire names.
#include "protocol/cancel_outcome.hpp"

namespace cafmcp::protocol {

std::string_view to_string(cancel_outcome x) {
  switch (x) {
    case cancel_outcome::cancelled: return "cancelled";
    case cancel_outcome::already_ended: return "already_ended";
    case cancel_outcome::not_found: break;
  }
  return "not_found";
}

std::optional<cancel_outcome> cancel_outcome_from_string(std::string_view text) {
  for (auto x : {cancel_outcome::cancelled, cancel_outcome::already_ended, cancel_outcome::not_found})
    if (to_string(x) == text)
      return x;
  return std::nullopt;
}

} // namespace cafmcp::protocol
