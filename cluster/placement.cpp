// Rendezvous placement: which members hold a record.
#include "cluster/placement.hpp"

#include <algorithm>

#include "cluster/messages.hpp"

namespace cafmcp::cluster {

namespace {

// FNV-1a then a splitmix64 finaliser: the same on every build and process
// (std::hash makes no such promise).
uint64_t weight(const std::string& id, const std::string& member) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](const std::string& s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ull;
    }
  };
  mix(id);
  h ^= 0xff;
  h *= 1099511628211ull;
  mix(member);
  h += 0x9e3779b97f4a7c15ull;
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
  return h ^ (h >> 31);
}

} // namespace

std::vector<std::string> place(const std::string& id, const std::vector<std::string>& members, size_t factor,
                               const std::map<std::string, std::string>& drains) {
  std::vector<std::pair<uint64_t, const std::string*>> order;
  order.reserve(members.size());
  for (auto& m : members)
    order.emplace_back(weight(id, m), &m);
  std::sort(order.begin(), order.end(), [](auto& a, auto& b) {
    return a.first != b.first ? a.first > b.first : *a.second < *b.second;
  });
  std::vector<std::string> out;
  if (!order.empty() && !drains.empty()) {
    // The primary it would have without drains moves to the named target.
    auto d = drains.find(*order.front().second);
    if (d != drains.end() && !d->second.empty() && !drains.count(d->second)
        && std::find(members.begin(), members.end(), d->second) != members.end())
      out.push_back(d->second);
  }
  for (auto& [w, m] : order) {
    if (out.size() >= factor)
      break;
    if (drains.count(*m) || std::find(out.begin(), out.end(), *m) != out.end())
      continue;
    out.push_back(*m);
  }
  return out;
}

size_t replicas_needed(uint8_t level, size_t factor) {
  size_t n = 1;
  switch (static_cast<consistency>(level)) {
    case consistency::local: n = 1; break;
    case consistency::one: n = 2; break;
    case consistency::majority: n = factor / 2 + 1; break;
    case consistency::all: n = factor; break;
  }
  return std::max<size_t>(1, std::min(n, factor));
}

} // namespace cafmcp::cluster
