#pragma once

// The registry's table: unique names -> actor handles. Readable from any
// thread at once (sharded reader/writer locks), so lookups need no message
// round trip. An entry disappears when its actor terminates.

#include <array>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/actor.hpp>

namespace cafmcp::actors {

class name_table : public std::enable_shared_from_this<name_table> {
public:
  static std::shared_ptr<name_table> make();

  /// Registers `name` for `handle`; false when the name is taken.
  bool put(const std::string& name, const caf::actor& handle);

  /// Registers `name` for `handle`, replacing any previous holder. For
  /// names a supervisor owns: a restarted child takes over its name even if
  /// its dead predecessor's entry is still being cleaned up.
  void assign(const std::string& name, const caf::actor& handle);

  /// Removes `name`; false when it was not registered.
  bool erase(const std::string& name);

  /// The actor registered under `name`, or an invalid handle.
  caf::actor lookup(const std::string& name) const;

  std::vector<std::pair<std::string, caf::actor>> list() const;
  size_t size() const;

private:
  name_table() = default;

  struct alignas(64) shard {
    mutable std::shared_mutex mtx;
    std::unordered_map<std::string, caf::actor> entries;
  };

  shard& shard_for(const std::string& name);
  const shard& shard_for(const std::string& name) const;
  /// Remembers that `handle` holds `name`; the first name of an actor
  /// attaches one cleanup to it (one per actor, however often it registers).
  void watch(const std::string& name, const caf::actor& handle);
  void unwatch(const std::string& name, caf::actor_id aid);
  /// Runs when actor `aid` terminates: drops every name it still holds.
  void on_actor_exit(caf::actor_id aid);

  std::array<shard, 64> shards_;
  std::mutex watch_mtx_;
  std::unordered_map<caf::actor_id, std::vector<std::string>> names_of_;
};

} // namespace cafmcp::actors
