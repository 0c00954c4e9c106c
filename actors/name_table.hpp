#pragma once

// The registry's table: unique names -> actor handles. Readable from any
// thread at once, so lookups need no message round trip. An entry
// disappears when its actor terminates.
//
// Reads take a big-reader lock: each reader thread counts itself in its own
// cache line, so concurrent lookups never write to a shared line; writers
// (rare next to lookups) raise a flag and wait for the readers to drain.

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
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

  /// Calls `f(const caf::actor&)` with the actor registered under `name`
  /// (no copy of the handle) and returns true, or returns false. `f` runs
  /// under the read lock: keep it short and never touch the table from it.
  template <class F>
  bool visit(const std::string& name, F&& f) const {
    read_guard guard{*this};
    auto i = entries_.find(name);
    if (i == entries_.end())
      return false;
    f(i->second);
    return true;
  }

  std::vector<std::pair<std::string, caf::actor>> list() const;
  size_t size() const;

private:
  name_table() = default;

  static constexpr size_t reader_slots = 16;

  struct alignas(64) reader_slot {
    std::atomic<uint32_t> active{0};
  };

  class read_guard {
  public:
    explicit read_guard(const name_table& t);
    ~read_guard();
    read_guard(const read_guard&) = delete;
    read_guard& operator=(const read_guard&) = delete;

  private:
    reader_slot& slot_;
  };

  class write_guard {
  public:
    explicit write_guard(name_table& t);
    ~write_guard();
    write_guard(const write_guard&) = delete;
    write_guard& operator=(const write_guard&) = delete;

  private:
    name_table& t_;
  };

  reader_slot& my_slot() const;

  /// Remembers that `handle` holds `name`; the first name of an actor
  /// attaches one cleanup to it (one per actor, however often it registers).
  void watch(const std::string& name, const caf::actor& handle);
  void unwatch(const std::string& name, caf::actor_id aid);
  /// Runs when actor `aid` terminates: drops every name it still holds.
  void on_actor_exit(caf::actor_id aid);

  mutable std::array<reader_slot, reader_slots> readers_;
  alignas(64) std::atomic<bool> writing_{false};
  std::mutex write_mtx_;
  std::unordered_map<std::string, caf::actor> entries_;

  std::mutex watch_mtx_;
  std::unordered_map<caf::actor_id, std::vector<std::string>> names_of_;
};

} // namespace cafmcp::actors
