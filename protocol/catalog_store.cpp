// The catalog a running node serves, changeable while it serves.
#include "protocol/catalog_store.hpp"

#include <vector>

namespace cafmcp::protocol {

namespace {

template <class T, class Key>
std::vector<std::string> names(const std::vector<T>& items, Key key) {
  std::vector<std::string> out;
  for (auto& x : items)
    out.push_back(key(x));
  return out;
}

} // namespace

catalog_store::catalog_store(std::shared_ptr<const catalog> initial, std::shared_ptr<notification_hub> hub)
  : cur_(std::move(initial)), hub_(std::move(hub)) {
}

std::shared_ptr<const catalog> catalog_store::snapshot() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return cur_;
}

void catalog_store::update(const std::function<void(catalog&)>& edit) {
  std::lock_guard<std::mutex> serial{update_mtx_};
  auto before = snapshot();
  auto next = std::make_shared<catalog>(*before);
  edit(*next);
  {
    std::lock_guard<std::mutex> guard{mtx_};
    cur_ = next;
  }
  // A list changed when its names did; a replaced definition under the
  // same name is a change too, but only the author knows (resource_updated).
  auto tool_name = [](const tool_def& t) { return t.name; };
  auto prompt_name = [](const prompt_def& p) { return p.name; };
  auto resource_name = [](const resource_def& r) { return r.uri; };
  auto template_name = [](const resource_template_def& t) { return t.uri_template; };
  if (names(before->tools(), tool_name) != names(next->tools(), tool_name))
    hub_->list_changed(list_kind::tools);
  if (names(before->prompts(), prompt_name) != names(next->prompts(), prompt_name))
    hub_->list_changed(list_kind::prompts);
  if (names(before->resources(), resource_name) != names(next->resources(), resource_name)
      || names(before->resource_templates(), template_name) != names(next->resource_templates(), template_name))
    hub_->list_changed(list_kind::resources);
}

void catalog_store::resource_updated(const std::string& uri) {
  hub_->resource_updated(uri);
}

} // namespace cafmcp::protocol
