#pragma once
// Forwarding: where an operation goes, and which forwards are served again when their primary leaves.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace cafmcp::cluster {

constexpr size_t max_hops = 3;     // forwards of one operation
constexpr uint32_t max_waits = 10; // ticks a forwarded operation waits for views to agree

struct route {
  enum kind_t { serve_here, forward, wait, no_members, moving };
  kind_t kind;
  std::string primary; // for forward
};

/// Where an operation on a record with `replicas` (primary first) goes from
/// node `me`, having been forwarded `hops` times and held `waits` ticks.
/// One sent here by a node that takes this one for the primary means views
/// differ for a moment (a member joining or leaving): it waits a few ticks
/// for them to agree rather than bouncing back.
route route_of(const std::string& me, const std::vector<std::string>& replicas, size_t hops, uint32_t waits);

/// Operations forwarded to another primary, kept until answered: if that
/// primary leaves first, they are taken back and served again (reroute)
/// instead of timing out. `T` is whatever the caller must keep to answer.
template <class T>
class pending_forwards {
public:
  /// Keeps `item` sent to `primary`; the number names it in answers.
  uint64_t add(std::string primary, T item) {
    auto number = next_++;
    entries_.emplace(number, entry{std::move(primary), std::move(item)});
    return number;
  }

  /// The primary answered: the item, unless it was rerouted already.
  std::optional<T> take(uint64_t number) {
    auto i = entries_.find(number);
    if (i == entries_.end())
      return std::nullopt;
    auto out = std::move(i->second.item);
    entries_.erase(i);
    return out;
  }

  T* find(uint64_t number) {
    auto i = entries_.find(number);
    return i == entries_.end() ? nullptr : &i->second.item;
  }

  /// Takes back every item whose primary is not among `members` (it died or
  /// was cut off before answering), with the primary it was sent to.
  std::vector<std::pair<std::string, T>> take_departed(const std::vector<std::string>& members) {
    std::vector<std::pair<std::string, T>> out;
    for (auto i = entries_.begin(); i != entries_.end();) {
      if (std::find(members.begin(), members.end(), i->second.primary) == members.end()) {
        out.emplace_back(std::move(i->second.primary), std::move(i->second.item));
        i = entries_.erase(i);
      } else {
        ++i;
      }
    }
    return out;
  }

  size_t size() const { return entries_.size(); }

private:
  struct entry {
    std::string primary;
    T item;
  };
  std::map<uint64_t, entry> entries_;
  uint64_t next_ = 0;
};

} // namespace cafmcp::cluster
