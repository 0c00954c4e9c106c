// The write quorum: which backups a write waits for and when it is acknowledged or failed.
#include "cluster/write_quorum.hpp"

#include <algorithm>

#include "cluster/placement.hpp"

namespace cafmcp::cluster {

size_t write_quorum::replicas_needed(uint8_t level, size_t factor, size_t up_members) {
  auto rf = std::max<size_t>(1, std::min(factor, up_members));
  return cluster::replicas_needed(level, rf);
}

write_quorum::write_quorum(uint8_t level, size_t factor, size_t up_members)
  : needed_total_(replicas_needed(level, factor, up_members)) {}

bool write_quorum::ask(const std::string& peer, time_point deadline) {
  return asks_.emplace(peer, pending_ask{deadline, ask_state::waiting}).second;
}

void write_quorum::answer(const std::string& peer, bool ok) {
  auto i = asks_.find(peer);
  if (i == asks_.end() || i->second.state != ask_state::waiting)
    return;
  i->second.state = ok ? ask_state::acked : ask_state::refused;
  if (ok)
    ++acks_;
}

write_quorum::outcome write_quorum::decide(time_point now) const {
  if (missing() == 0)
    return outcome::acknowledged;
  for (auto& [peer, a] : asks_)
    if (a.state == ask_state::waiting && now < a.deadline)
      return outcome::pending;
  return outcome::failed;
}

} // namespace cafmcp::cluster
