// The registry's name table: unique names to actor handles, read from any thread.
#include "actors/name_table.hpp"

#include <algorithm>
#include <functional>
#include <thread>
#include <mutex>

#include <caf/abstract_actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/error.hpp>

namespace cafmcp::actors {

std::shared_ptr<name_table> name_table::make() {
  return std::shared_ptr<name_table>(new name_table());
}

// -- the big-reader lock --------------------------------------------------------
// A reader announces itself in its slot, then checks the writer flag; a
// writer raises the flag, then waits for every slot to be empty. With
// sequentially consistent operations on both sides, either the reader sees
// the flag (and backs off) or the writer sees the reader (and waits).

namespace {

// Slot indices are handed out per thread and returned when the thread ends,
// so threads alive at the same time get distinct slots (while there are at
// most reader_slots of them; beyond that, threads share, which stays correct).
template <size_t N>
class slot_allocator {
public:
  size_t acquire() {
    for (size_t i = 0; i < N; ++i) {
      bool expected = false;
      if (used_[i].compare_exchange_strong(expected, true))
        return i;
    }
    return overflow_.fetch_add(1, std::memory_order_relaxed) % N;
  }
  void release(size_t i) { used_[i].store(false); }

private:
  std::array<std::atomic<bool>, N> used_{};
  std::atomic<size_t> overflow_{0};
};

template <size_t N>
slot_allocator<N>& slots() {
  static slot_allocator<N> instance;
  return instance;
}

template <size_t N>
struct thread_slot {
  size_t index = slots<N>().acquire();
  ~thread_slot() { slots<N>().release(index); }
};

} // namespace

name_table::reader_slot& name_table::my_slot() const {
  thread_local thread_slot<reader_slots> slot;
  return readers_[slot.index];
}

name_table::read_guard::read_guard(const name_table& t) : slot_(t.my_slot()) {
  for (;;) {
    slot_.active.fetch_add(1, std::memory_order_seq_cst);
    if (!t.writing_.load(std::memory_order_seq_cst))
      return;
    slot_.active.fetch_sub(1, std::memory_order_seq_cst);
    while (t.writing_.load(std::memory_order_seq_cst))
      std::this_thread::yield();
  }
}

name_table::read_guard::~read_guard() {
  slot_.active.fetch_sub(1, std::memory_order_release);
}

name_table::write_guard::write_guard(name_table& t) : t_(t) {
  t_.write_mtx_.lock();
  t_.writing_.store(true, std::memory_order_seq_cst);
  for (auto& slot : t_.readers_)
    while (slot.active.load(std::memory_order_seq_cst) != 0)
      std::this_thread::yield();
}

name_table::write_guard::~write_guard() {
  t_.writing_.store(false, std::memory_order_seq_cst);
  t_.write_mtx_.unlock();
}

bool name_table::put(const std::string& name, const caf::actor& handle) {
  if (!handle)
    return false;
  {
    write_guard guard{*this};
    if (!entries_.emplace(name, handle).second)
      return false;
  }
  watch(name, handle);
  return true;
}

void name_table::assign(const std::string& name, const caf::actor& handle) {
  if (!handle)
    return;
  caf::actor_id previous = 0;
  caf::actor replaced; // released after the lock: the last reference may end the actor
  {
    write_guard guard{*this};
    auto& slot = entries_[name];
    if (slot)
      previous = slot.id();
    replaced = std::exchange(slot, handle);
  }
  if (previous != 0)
    unwatch(name, previous);
  watch(name, handle);
}

bool name_table::erase(const std::string& name) {
  caf::actor_id owner = 0;
  // Released after the lock: dropping the last reference ends the actor,
  // whose cleanup (on_actor_exit) takes the write lock itself.
  caf::actor erased;
  {
    write_guard guard{*this};
    auto i = entries_.find(name);
    if (i == entries_.end())
      return false;
    owner = i->second.id();
    erased = std::move(i->second);
    entries_.erase(i);
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
  std::vector<caf::actor> erased; // released after the lock, as in erase
  write_guard guard{*this};
  for (auto& name : names) {
    auto i = entries_.find(name);
    if (i != entries_.end() && i->second.id() == aid) {
      erased.push_back(std::move(i->second));
      entries_.erase(i);
    }
  }
}

caf::actor name_table::lookup(const std::string& name) const {
  caf::actor out;
  visit(name, [&](const caf::actor& h) { out = h; });
  return out;
}

std::vector<std::pair<std::string, caf::actor>> name_table::list() const {
  read_guard guard{*this};
  return {entries_.begin(), entries_.end()};
}

size_t name_table::size() const {
  read_guard guard{*this};
  return entries_.size();
}

} // namespace cafmcp::actors
