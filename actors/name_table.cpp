#include "actors/name_table.hpp"

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
  forget_on_exit(name, handle);
  return true;
}

void name_table::assign(const std::string& name, const caf::actor& handle) {
  if (!handle)
    return;
  auto& s = shard_for(name);
  {
    std::unique_lock<std::shared_mutex> guard{s.mtx};
    s.entries[name] = handle;
  }
  forget_on_exit(name, handle);
}

void name_table::forget_on_exit(const std::string& name, const caf::actor& handle) {
  // Runs when the actor terminates, or at once if it already has.
  std::weak_ptr<name_table> weak = shared_from_this();
  auto aid = handle.id();
  caf::actor_cast<caf::abstract_actor*>(handle)->attach_functor([weak, name, aid](const caf::error&) {
    if (auto table = weak.lock())
      table->erase_if_owner(name, aid);
  });
}

bool name_table::erase(const std::string& name) {
  auto& s = shard_for(name);
  std::unique_lock<std::shared_mutex> guard{s.mtx};
  return s.entries.erase(name) > 0;
}

void name_table::erase_if_owner(const std::string& name, caf::actor_id aid) {
  auto& s = shard_for(name);
  std::unique_lock<std::shared_mutex> guard{s.mtx};
  auto i = s.entries.find(name);
  if (i != s.entries.end() && i->second.id() == aid)
    s.entries.erase(i);
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
