#pragma once

// The routing table a node decides with now. Tables are immutable; a new
// version replaces the whole table at once, so a decision reads one table
// and never mixes two versions. Read on every tools/call from any thread,
// replaced rarely (a rules change in the cluster).

#include <atomic>
#include <memory>

#include "protocol/route_table.hpp"

namespace cafmcp::protocol {

class live_routes {
public:
  live_routes() = default;
  explicit live_routes(std::shared_ptr<const route_table> table) : table_(std::move(table)) {}

  /// The table in use (null: no rules, every call goes where it is named).
  std::shared_ptr<const route_table> current() const { return std::atomic_load(&table_); }
  void replace(std::shared_ptr<const route_table> table) { std::atomic_store(&table_, std::move(table)); }

private:
  std::shared_ptr<const route_table> table_;
};

} // namespace cafmcp::protocol
