#pragma once

// What the rest of the node may read about the cluster without asking an
// actor: whether this node is fenced (the protocol layer refuses requests
// then) and the last status table (observability). Thread-safe; written by
// the node actor only.

#include <atomic>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <caf/node_id.hpp>

#include "cluster/messages.hpp"

namespace cafmcp::cluster {

class cluster_view {
public:
  /// Why this node refuses requests, or nullopt while it serves.
  std::optional<std::string> fenced() const {
    if (!fenced_.load(std::memory_order_acquire))
      return std::nullopt;
    std::lock_guard<std::mutex> guard{mtx_};
    return reason_;
  }

  void set_fenced(bool on, std::string reason = {}) {
    std::lock_guard<std::mutex> guard{mtx_};
    reason_ = std::move(reason);
    if (!on && fenced_.load(std::memory_order_relaxed))
      unfenced_.fetch_add(1, std::memory_order_release);
    fenced_.store(on, std::memory_order_release);
  }

  /// How often fencing has been lifted: a replicator that read its members
  /// before the last lift holds the layout of its isolation (where it led
  /// everything) and must not serve from it.
  uint64_t unfenced_count() const { return unfenced_.load(std::memory_order_acquire); }

  std::vector<status_row> rows() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return rows_;
  }

  void set_rows(std::vector<status_row> rows) {
    std::lock_guard<std::mutex> guard{mtx_};
    rows_ = std::move(rows);
  }

  /// Whether messages from `n` come from this node or a member that proved
  /// its certificate (or, cluster.insecure, the cookie). Actors that peers
  /// can address (the replicator) refuse anyone else.
  bool trusted(const caf::node_id& n) const {
    std::lock_guard<std::mutex> guard{mtx_};
    return n == own_ || members_.count(n) > 0;
  }

  void set_own_node(caf::node_id n) {
    std::lock_guard<std::mutex> guard{mtx_};
    own_ = std::move(n);
  }

  void set_member_nodes(std::set<caf::node_id> nodes) {
    std::lock_guard<std::mutex> guard{mtx_};
    members_ = std::move(nodes);
  }

private:
  std::atomic<bool> fenced_{false};
  std::atomic<uint64_t> unfenced_{0};
  mutable std::mutex mtx_;
  std::string reason_;
  std::vector<status_row> rows_;
  caf::node_id own_;
  std::set<caf::node_id> members_;
};

} // namespace cafmcp::cluster
