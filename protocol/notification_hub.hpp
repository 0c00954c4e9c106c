#pragma once

// Server-initiated notifications of one node: list changes, resource
// updates and task status. Publishers (the catalog store, tool handlers,
// the task registry) call it from any thread; each subscriber -- a legacy
// session or a 2026-07-28 subscriptions/listen stream -- gets what its
// filter asks for.

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

namespace cafmcp::protocol {

/// What a subscriber wants (the 2026-07-28 SubscriptionFilter, plus the
/// Tasks extension's taskIds).
struct subscription_filter {
  bool tools_list_changed = false;
  bool prompts_list_changed = false;
  bool resources_list_changed = false;
  std::set<std::string> resource_uris;
  std::set<std::string> task_ids;
};

enum class list_kind { tools, prompts, resources };

class notification_hub {
public:
  /// Receives one notification (a complete JSON-RPC message). Called
  /// outside the hub's lock, from the publisher's thread: it must not
  /// block (post to an I/O context instead). It may still run once right
  /// after unsubscribe returns, so it must tolerate a gone receiver.
  using deliver_fn = std::function<void(const nlohmann::json& notification)>;

  /// `on_close` runs when the hub closes (the node stops): e.g. a listen
  /// stream ends gracefully.
  uint64_t subscribe(subscription_filter filter, deliver_fn fn, std::function<void()> on_close = {});
  /// Changes a subscriber's filter in place (legacy resources/subscribe).
  void update(uint64_t id, const std::function<void(subscription_filter&)>& fn);
  void unsubscribe(uint64_t id);
  size_t subscribers() const;
  /// Drops every subscriber, running each one's on_close.
  void close_all();

  /// notifications/{tools,prompts,resources}/list_changed.
  void list_changed(list_kind kind);
  /// notifications/resources/updated for those subscribed to `uri`.
  void resource_updated(const std::string& uri);
  /// notifications/tasks (params: the task as tasks/get returns it) for
  /// those listening to `task_id`.
  void task_changed(const std::string& task_id, const nlohmann::json& task);

private:
  struct entry {
    subscription_filter filter;
    deliver_fn fn;
    std::function<void()> on_close;
  };

  void publish(const std::function<bool(const subscription_filter&)>& wants, const nlohmann::json& n);

  mutable std::mutex mtx_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, entry> subs_;
};

} // namespace cafmcp::protocol
