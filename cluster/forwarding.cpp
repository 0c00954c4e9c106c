// Forwarding: where an operation goes (served here, forwarded, held, refused).
#include "cluster/forwarding.hpp"

namespace cafmcp::cluster {

route route_of(const std::string& me, const std::vector<std::string>& replicas, size_t hops, uint32_t waits) {
  if (replicas.empty())
    return {route::no_members, {}};
  if (replicas.front() == me)
    return {route::serve_here, {}};
  if (hops > 0 && waits < max_waits)
    return {route::wait, {}};
  if (hops >= max_hops)
    return {route::moving, {}};
  return {route::forward, replicas.front()};
}

std::optional<std::string> stale_forward(const forward_origin& op, uint64_t my_incarnation, const sender_view& sender) {
  if (op.from.empty())
    return std::nullopt; // not forwarded (or by a node that does not say)
  if (op.to_incarnation != 0 && my_incarnation != 0 && op.to_incarnation != my_incarnation)
    return "it was sent to an earlier incarnation of this node";
  if (!sender.known)
    return op.from + " is not an up member here";
  if (sender.incarnation != op.from_incarnation)
    return op.from + " has rejoined as a new incarnation since it sent it";
  if (!sender.reachable)
    return op.from + " is unreachable from here, so it may have given up on it";
  return std::nullopt;
}

} // namespace cafmcp::cluster
