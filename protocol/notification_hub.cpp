// A node's server-initiated notifications and their subscribers.
#include "protocol/notification_hub.hpp"

#include <vector>

#include "protocol/json_rpc.hpp"

namespace cafmcp::protocol {

uint64_t notification_hub::subscribe(subscription_filter filter, deliver_fn fn, std::function<void()> on_close) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto id = next_id_++;
  subs_.emplace(id, entry{std::move(filter), std::move(fn), std::move(on_close)});
  return id;
}

void notification_hub::update(uint64_t id, const std::function<void(subscription_filter&)>& fn) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto i = subs_.find(id); i != subs_.end())
    fn(i->second.filter);
}

void notification_hub::unsubscribe(uint64_t id) {
  std::lock_guard<std::mutex> guard{mtx_};
  subs_.erase(id);
}

size_t notification_hub::subscribers() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return subs_.size();
}

void notification_hub::close_all() {
  std::map<uint64_t, entry> all;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    all.swap(subs_);
  }
  for (auto& [id, e] : all)
    if (e.on_close)
      e.on_close();
}

void notification_hub::publish(const std::function<bool(const subscription_filter&)>& wants,
                               const nlohmann::json& n) {
  std::vector<deliver_fn> targets;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& [id, e] : subs_)
      if (wants(e.filter))
        targets.push_back(e.fn);
  }
  for (auto& fn : targets)
    fn(n);
}

void notification_hub::list_changed(list_kind kind) {
  switch (kind) {
    case list_kind::tools:
      return publish([](auto& f) { return f.tools_list_changed; },
                     make_notification("notifications/tools/list_changed", nlohmann::json::object()));
    case list_kind::prompts:
      return publish([](auto& f) { return f.prompts_list_changed; },
                     make_notification("notifications/prompts/list_changed", nlohmann::json::object()));
    case list_kind::resources:
      return publish([](auto& f) { return f.resources_list_changed; },
                     make_notification("notifications/resources/list_changed", nlohmann::json::object()));
  }
}

void notification_hub::resource_updated(const std::string& uri) {
  publish([&](auto& f) { return f.resource_uris.count(uri) > 0; },
          make_notification("notifications/resources/updated", nlohmann::json{{"uri", uri}}));
}

void notification_hub::task_changed(const std::string& task_id, const nlohmann::json& task) {
  publish([&](auto& f) { return f.task_ids.count(task_id) > 0; }, make_notification("notifications/tasks", task));
}

} // namespace cafmcp::protocol
