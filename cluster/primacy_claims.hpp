#pragma once
// Primacy claims: records another member has taken over from this node's point of view.

#include <chrono>
#include <cstdint>
#include <iterator>
#include <map>
#include <optional>
#include <string>

namespace cafmcp::cluster {

/// A member that leads a record in its own view pulls it from every member
/// it reaches before serving it (read repair). Views disagree for a moment
/// around a join or a rejoin: a member that still leads the record in its
/// view (or whose view still names a third primary) would go on
/// acknowledging writes the new primary never pulled, and a client that
/// then reads through the new primary misses its own acknowledged write.
/// So answering a pull is a promise, kept until the views agree or the
/// claim ends: this node no longer serves the record as its primary (it
/// sends the operations to the claimant) and does not acknowledge another
/// primary's copy of it.
///
/// A claim ends at its deadline, when its claimant is no longer the same
/// up member (gone, or a new incarnation), or when the claimant sends an
/// operation on the record here (it takes this node for the primary now).
class primacy_claims {
public:
  using time_point = std::chrono::steady_clock::time_point;

  /// `name` (incarnation `incarnation`) pulled `id` to lead it; a later
  /// claim replaces an earlier one.
  void claim(const std::string& id, const std::string& name, uint64_t incarnation, time_point until) {
    claims_[id] = entry{name, incarnation, until};
  }

  /// The member whose claim on `id` holds at `now`; `incarnation_now(name)`
  /// is that member's incarnation as this node knows it (0: not an up
  /// member).
  template <class F>
  std::optional<std::string> holder(const std::string& id, time_point now, F incarnation_now) const {
    auto i = claims_.find(id);
    if (i == claims_.end() || i->second.until <= now || incarnation_now(i->second.name) != i->second.incarnation)
      return std::nullopt;
    return i->second.name;
  }

  /// `name` no longer claims `id` (it sent an operation on it here).
  void drop(const std::string& id, const std::string& name) {
    auto i = claims_.find(id);
    if (i != claims_.end() && i->second.name == name)
      claims_.erase(i);
  }

  /// Forgets the claims whose deadline has passed.
  void expire(time_point now) {
    for (auto i = claims_.begin(); i != claims_.end();)
      i = i->second.until <= now ? claims_.erase(i) : std::next(i);
  }

  size_t size() const { return claims_.size(); }

private:
  struct entry {
    std::string name;
    uint64_t incarnation = 0;
    time_point until;
  };
  std::map<std::string, entry> claims_;
};

} // namespace cafmcp::cluster
