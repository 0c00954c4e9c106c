#pragma once

// The catalog a running node serves, changeable while it serves: readers
// take an immutable snapshot per request (no lock held while serving);
// update() copies, edits and swaps it, then tells subscribers which lists
// changed (notifications/*/list_changed).

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "protocol/catalog.hpp"
#include "protocol/notification_hub.hpp"

namespace cafmcp::protocol {

class catalog_store {
public:
  catalog_store(std::shared_ptr<const catalog> initial, std::shared_ptr<notification_hub> hub);

  std::shared_ptr<const catalog> snapshot() const;

  /// Applies `edit` to a copy and publishes it. Updates are serialized. If
  /// `edit` throws (e.g. a duplicate name), nothing changes and the
  /// exception propagates.
  void update(const std::function<void(catalog&)>& edit);

  /// Tells subscribers of `uri` that its contents changed.
  void resource_updated(const std::string& uri);

  const std::shared_ptr<notification_hub>& hub() const { return hub_; }

private:
  mutable std::mutex mtx_;      // guards cur_ (a shared_ptr swap)
  std::mutex update_mtx_;       // serializes updates
  std::shared_ptr<const catalog> cur_;
  std::shared_ptr<notification_hub> hub_;
};

} // namespace cafmcp::protocol
