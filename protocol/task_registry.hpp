#pragma once

// Tasks of the 2026-07-28 Tasks extension (io.modelcontextprotocol/tasks):
// a tools/call the server runs in the background while the client polls
// tasks/get, answers tasks/update or asks tasks/cancel. Node-wide (any
// connection of the same tenant may poll a task), thread-safe, bounded. Task
// ids are 128 random bits, so they cannot be guessed, and a task is bound to
// the tenant that started it: to any other it does not exist. Status changes go to
// subscriptions/listen streams that asked for the task (notifications/tasks).

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "protocol/cancel_outcome.hpp"
#include "protocol/notification_hub.hpp"
#include "protocol/task_record.hpp"

namespace cafmcp::protocol {

struct task_config {
  std::chrono::milliseconds ttl{60 * 60 * 1000};  // kept this long after creation
  std::chrono::milliseconds poll_interval{1000}; // suggested to clients
  size_t max_tasks = 10000;                       // live tasks per node
};

/// Told of every task as it is created (`origin`: its record, without the
/// owner) and as it changes (`origin` null): where a cluster keeps a
/// replicated copy, so any node can answer tasks/get and a task outlives
/// its node. Called outside the registry's lock, from any thread.
using task_mirror = std::function<void(const std::string& id, const nlohmann::json& task, const task_record* origin)>;

class task_registry {
public:
  task_registry(task_config cfg, std::shared_ptr<notification_hub> hub);

  /// Set before the node serves.
  void set_mirror(task_mirror m) { mirror_ = std::move(m); }

  /// A new task in status "working" whose call stops when `cancel` is set.
  /// nullopt when max_tasks tasks are live (the caller answers "busy").
  /// `id`: the id to use (a task resumed after its node died), else a new one.
  std::optional<nlohmann::json> create(const std::string& tool, std::shared_ptr<std::atomic<bool>> cancel,
                                       std::optional<task_record> origin = std::nullopt, std::string id = {});

  /// The task as tasks/get returns it (without resultType), or nullopt:
  /// unknown or expired.
  std::optional<nlohmann::json> get(const std::string& id);
  /// The same for a caller of `tenant` ("": none): another tenant's task is
  /// unknown to it.
  std::optional<nlohmann::json> get(const std::string& id, const std::string& tenant);

  /// Sets a progress message on a working task (no notification: polling
  /// clients see it, listeners are not flooded).
  void set_message(const std::string& id, std::string message);

  /// Ends a working task; ignored when it ended already (e.g. cancelled).
  void complete(const std::string& id, nlohmann::json result);
  void fail(const std::string& id, nlohmann::json error);

  using cancel_outcome = protocol::cancel_outcome;
  cancel_outcome cancel(const std::string& id);
  /// The same for a caller of `tenant`: another tenant's task is not_found.
  cancel_outcome cancel(const std::string& id, const std::string& tenant);

  size_t size();

private:
  struct task {
    std::string id;
    std::string tool;
    std::string tenant; // whose it is ("": no tenant's)
    std::string status = "working";
    std::string message;
    std::chrono::system_clock::time_point created;
    std::chrono::system_clock::time_point updated;
    nlohmann::json outcome; // the result (completed) or the error (failed)
    std::shared_ptr<std::atomic<bool>> cancel;
  };

  nlohmann::json to_json(const task& t) const;
  /// Sets a task's final status (lock held by the caller); returns the task
  /// as notifications/tasks carries it, to publish after unlocking.
  nlohmann::json finish(task& t, const char* status);
  /// Ends a working task (ignored when it ended already, e.g. cancelled).
  void end(const std::string& id, const char* status, nlohmann::json outcome);
  cancel_outcome cancel(const std::string& id, const std::string* tenant); // tenant null: any
  void sweep(std::chrono::system_clock::time_point now); // lock held
  /// The live task `id` (lock held; null: unknown), if `tenant` (null: any) may see it.
  task* find(const std::string& id, const std::string* tenant);
  void publish(const nlohmann::json& task_json);
  void mirror(const nlohmann::json& task_json, const task_record* origin = nullptr);

  task_config cfg_;
  std::shared_ptr<notification_hub> hub_;
  std::mutex mtx_;
  std::map<std::string, task> tasks_;
  task_mirror mirror_;
};

/// RFC 3339 UTC timestamp with milliseconds ("2026-11-23T10:30:00.123Z").
std::string iso8601(std::chrono::system_clock::time_point t);

} // namespace cafmcp::protocol
