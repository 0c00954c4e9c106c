// Record placement: rendezvous placement over the members, then the record's pin.
#include "cluster/record_placement.hpp"

#include <algorithm>

#include "cluster/placement.hpp"
#include "cluster/replica_store.hpp"

namespace cafmcp::cluster {

std::vector<std::string> place_record(const replica_store& store, const std::string& id, const placement_view& view) {
  auto& members = view.members;
  auto out = place(id, members, view.factor, view.drains);
  auto pin = store.value(id, field::pin);
  if (pin.empty() || view.drains.count(pin) || std::find(members.begin(), members.end(), pin) == members.end()
      || (!out.empty() && out.front() == pin))
    return out;
  out.erase(std::remove(out.begin(), out.end(), pin), out.end());
  out.insert(out.begin(), pin);
  if (out.size() > view.factor)
    out.resize(view.factor);
  return out;
}

} // namespace cafmcp::cluster
