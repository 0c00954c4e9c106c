#pragma once
// Forwarding: where an operation goes, and which forwards are served again when their primary leaves.

#include <algorithm>
#include <chrono>
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

/// Who sent a forwarded operation, and to whom, as the sender saw them.
struct forward_origin {
  std::string from;              // the forwarding member
  uint64_t from_incarnation = 0; // its incarnation when it sent it
  uint64_t to_incarnation = 0;   // the receiver's incarnation as it knew it
};

/// What the receiver knows now of the sender (from its member view).
struct sender_view {
  bool known = false;     // an up member
  bool reachable = false; // and reachable from here
  uint64_t incarnation = 0;
};

/// Why a forwarded operation must not be served here now (nothing: serve
/// it). Its sender gives up on a forward when the receiver drops out of its
/// view, and serves the operation elsewhere; a forward the network held back
/// (a partition, TCP retransmitting after the heal) would otherwise be
/// served late, overwriting what the client wrote since. So a forward is
/// refused once either side has become a new incarnation, or while this
/// node does not reach its sender: what was sent before a gap between the
/// two arrives before the sender's next heartbeat does.
std::optional<std::string> stale_forward(const forward_origin& op, uint64_t my_incarnation, const sender_view& sender);

/// Whether a forward its receiver refused is served again by its sender at
/// the next tick instead of failing: the receiver refused it without
/// applying it (`unapplied`: views disagree for a moment, e.g. while two
/// members replace their connection and the receiver counts the sender
/// unreachable), the sender is where the operation entered the cluster
/// (`hops` 0: a node in the middle passes the refusal back at once, before
/// its own sender stops waiting), and it has waited fewer than max_waits
/// ticks. The sender still holds it, so it was served nowhere else: serving
/// it again cannot apply it twice.
inline bool retry_refused_forward(bool unapplied, size_t hops, uint32_t waits) {
  return unapplied && hops == 0 && waits < max_waits;
}

/// Operations forwarded to another primary, kept until answered: if that
/// primary leaves first, they are taken back and served again (reroute)
/// instead of timing out. `T` is whatever the caller must keep to answer.
template <class T>
class pending_forwards {
public:
  using time_point = std::chrono::steady_clock::time_point;

  /// Keeps `item` sent to `primary`; the number names it in answers.
  uint64_t add(std::string primary, T item) {
    auto number = next_++;
    entries_.emplace(number, entry{std::move(primary), std::move(item), std::nullopt});
    return number;
  }

  /// The connection to the primary dropped before it answered, so no answer
  /// will come. The item stays to be taken back once the primary leaves the
  /// view (it was killed or cut off: the usual cause), but no longer than
  /// `deadline` (the connection came back and the primary stayed). False:
  /// not held (answered or rerouted already).
  bool park(uint64_t number, time_point deadline) {
    auto i = entries_.find(number);
    if (i == entries_.end())
      return false;
    i->second.parked_until = deadline;
    return true;
  }

  /// Takes back the parked items whose deadline has passed, with the
  /// primary each was sent to.
  std::vector<std::pair<std::string, T>> take_expired(time_point now) {
    return take_if([now](const entry& e) { return e.parked_until && *e.parked_until <= now; });
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
    return take_if([&members](const entry& e) {
      return std::find(members.begin(), members.end(), e.primary) == members.end();
    });
  }

  size_t size() const { return entries_.size(); }

private:
  struct entry {
    std::string primary;
    T item;
    std::optional<time_point> parked_until;
  };

  template <class Pred>
  std::vector<std::pair<std::string, T>> take_if(Pred pred) {
    std::vector<std::pair<std::string, T>> out;
    for (auto i = entries_.begin(); i != entries_.end();) {
      if (pred(i->second)) {
        out.emplace_back(std::move(i->second.primary), std::move(i->second.item));
        i = entries_.erase(i);
      } else {
        ++i;
      }
    }
    return out;
  }

  std::map<uint64_t, entry> entries_;
  uint64_t next_ = 0;
};

} // namespace cafmcp::cluster
