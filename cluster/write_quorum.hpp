#pragma once
// The write quorum: which backups a write waits for and when it is acknowledged or failed.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

namespace cafmcp::cluster {

/// One write at its primary. The primary holds it already; the write is
/// acknowledged once enough backups hold it too for its consistency level
/// (counted over min(factor, up members): a node cut off from the others
/// still counts them, so it cannot reach a majority on its own). Each ask
/// has a deadline; the write fails once every ask has answered or expired
/// without enough acks. Time is an argument, so tests need no clock.
class write_quorum {
public:
  using time_point = std::chrono::steady_clock::time_point;
  enum class outcome { pending, acknowledged, failed };

  /// Replicas (primary included) a write at `level` needs.
  static size_t replicas_needed(uint8_t level, size_t factor, size_t up_members);

  write_quorum(uint8_t level, size_t factor, size_t up_members);

  /// Too few replicas to ever reach the level: refused before writing.
  bool enough(size_t replicas) const { return replicas >= needed_total_; }
  size_t needed_total() const { return needed_total_; }

  /// Asks `peer` until `deadline`; false when it was asked already.
  bool ask(const std::string& peer, time_point deadline);
  bool asked(const std::string& peer) const { return asks_.count(peer) > 0; }

  /// `peer` answered (ok: it holds the write). A second answer from the
  /// same peer, or one from a peer never asked, counts for nothing.
  void answer(const std::string& peer, bool ok);

  /// Backup acks still missing (0: acknowledged).
  size_t missing() const { return acks_ >= needed_total_ - 1 ? 0 : needed_total_ - 1 - acks_; }
  size_t acks() const { return acks_; }

  outcome decide(time_point now) const;

private:
  enum class ask_state { waiting, acked, refused };
  struct pending_ask {
    time_point deadline;
    ask_state state = ask_state::waiting;
  };
  size_t needed_total_;
  size_t acks_ = 0;
  std::map<std::string, pending_ask> asks_;
};

} // namespace cafmcp::cluster
