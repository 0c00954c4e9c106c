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

} // namespace cafmcp::cluster
