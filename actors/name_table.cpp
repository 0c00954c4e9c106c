#include "actors/name_table.hpp"

#include <algorithm>
#include <functional>
#include <mutex>

#include <caf/abstract_actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/error.hpp>

namespace cafmcp::actors {

std::shared_ptr<name_table> name_table::make() {
  return std::shared_ptr<name_table>(new name_table());
}

name_table::shard& name_table::shard_for(const std::string& name) {
  return shards_[std::hash<std::string>{}(name) % shards_.size()];
}

const name_table::shard& name_table::shard_for(const std::string& name) const {
  return shards_[std::hash<std::string>{}(name) % shards_.size()];
}

bool name_table::put(const std::string& name, const caf::actor& handle) {
  if (!handle)
    return false;
  auto& s = shard_for(name);
  {
    std::unique_lock<std::shared_mutex> guard{s.mtx};
    if (!s.entries.emplace(name, handle).second)
      return false;
  }
  watch(name, handle);
  return true;
}

void name_table::assign(const std::string& name, const caf::actor& handle) {
  if (!handle)
    return;
  auto& s = shard_for(name);
  caf::actor_id previous = 0;
  {
    std::unique_lock<std::shared_mutex> guard{s.mtx};
    auto& slot = s.entries[name];
    if (slot)
      previous = slot.id();
    slot = handle;
  }
  if (previous != 0)
    unwatch(name, previous);
  watch(name, handle);
}

bool name_table::erase(const std::string& name) {
  auto& s = shard_for(name);
  caf::actor_id owner = 0;
  {
    std::unique_lock<std::shared_mutex> guard{s.mtx};
    auto i = s.entries.find(name);
    if (i == s.entries.end())
      return false;
    owner = i->second.id();
    s.entries.erase(i);
  }
  unwatch(name, owner);
  return true;
}

void name_table::watch(const std::string& name, const caf::actor& handle) {
  auto aid = handle.id();
  bool first = false;
  {
    std::lock_guard<std::mutex> guard{watch_mtx_};
    auto [entry, inserted] = names_of_.try_emplace(aid);
    first = inserted;
    entry->second.push_back(name);
  }
  if (!first)
    return; // its cleanup is attached already
  // Runs when the actor terminates, or at once if it already has.
  std::weak_ptr<name_table> weak = shared_from_this();
  caf::actor_cast<caf::abstract_actor*>(handle)->attach_functor([weak, aid](const caf::error&) {
    if (auto table = weak.lock())
      table->on_actor_exit(aid);
  });
}

void name_table::unwatch(const std::string& name, caf::actor_id aid) {
  std::lock_guard<std::mutex> guard{watch_mtx_};
  auto i = names_of_.find(aid);
  if (i == names_of_.end())
    return;
  auto& names = i->second;
  auto j = std::find(names.begin(), names.end(), name);
  if (j != names.end())
    names.erase(j);
  // An empty list stays: the actor's cleanup is still attached and will
  // remove it; dropping it here would attach a second cleanup on re-register.
}

void name_table::on_actor_exit(caf::actor_id aid) {
  std::vector<std::string> names;
  {
    std::lock_guard<std::mutex> guard{watch_mtx_};
    auto i = names_of_.find(aid);
    if (i == names_of_.end())
      return;
    names = std::move(i->second);
    names_of_.erase(i);
  }
  for (auto& name : names) {
    auto& s = shard_for(name);
    std::unique_lock<std::shared_mutex> guard{s.mtx};
    auto i = s.entries.find(name);
    if (i != s.entries.end() && i->second.id() == aid)
      s.entries.erase(i);
  }
}

caf::actor name_table::lookup(const std::string& name) const {
  auto& s = shard_for(name);
  std::shared_lock<std::shared_mutex> guard{s.mtx};
  auto i = s.entries.find(name);
  return i == s.entries.end() ? caf::actor{} : i->second;
}

std::vector<std::pair<std::string, caf::actor>> name_table::list() const {
  std::vector<std::pair<std::string, caf::actor>> out;
  for (auto& s : shards_) {
    std::shared_lock<std::shared_mutex> guard{s.mtx};
    for (auto& kv : s.entries)
      out.emplace_back(kv.first, kv.second);
  }
  return out;
}

size_t name_table::size() const {
  size_t n = 0;
  for (auto& s : shards_) {
    std::shared_lock<std::shared_mutex> guard{s.mtx};
    n += s.entries.size();
  }
  return n;
}

} // namespace cafmcp::actors
