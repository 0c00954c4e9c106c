// The node's tasks (Tasks extension): states, TTLs, cancel.
#include "protocol/task_registry.hpp"

#include <ctime>

#include "actors/session_manager.hpp"

namespace cafmcp::protocol {

using nlohmann::json;
using std::chrono::system_clock;

std::string iso8601(system_clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

task_registry::task_registry(task_config cfg, std::shared_ptr<notification_hub> hub)
  : cfg_(cfg), hub_(std::move(hub)) {
}

json task_registry::to_json(const task& t) const {
  json out{{"taskId", t.id},
           {"status", t.status},
           {"createdAt", iso8601(t.created)},
           {"lastUpdatedAt", iso8601(t.updated)},
           {"ttlMs", cfg_.ttl.count()},
           {"pollIntervalMs", cfg_.poll_interval.count()}};
  if (!t.message.empty())
    out["statusMessage"] = t.message;
  if (t.status == "completed")
    out["result"] = t.outcome;
  else if (t.status == "failed")
    out["error"] = t.outcome;
  return out;
}

void task_registry::sweep(system_clock::time_point now) {
  for (auto i = tasks_.begin(); i != tasks_.end();) {
    if (now - i->second.created >= cfg_.ttl) {
      i->second.cancel->store(true); // a task past its TTL stops running too
      i = tasks_.erase(i);
    } else {
      ++i;
    }
  }
}

std::optional<json> task_registry::create(const std::string& tool, std::shared_ptr<std::atomic<bool>> cancel,
                                          std::optional<task_record> origin, std::string id) {
  json out;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto now = system_clock::now();
    sweep(now);
    if (tasks_.size() >= cfg_.max_tasks || (!id.empty() && tasks_.count(id)))
      return std::nullopt;
    task t;
    t.id = id.empty() ? actors::make_session_id() : std::move(id);
    t.tool = tool;
    t.tenant = origin ? origin->tenant : std::string{};
    t.created = t.updated = now;
    t.cancel = std::move(cancel);
    out = to_json(t);
    tasks_.emplace(t.id, std::move(t));
  }
  if (!origin) {
    origin.emplace();
    origin->tool = tool;
  }
  mirror(out, &*origin);
  return out;
}

void task_registry::mirror(const json& task_json, const task_record* origin) {
  if (mirror_)
    mirror_(task_json["taskId"].get<std::string>(), task_json, origin);
}

task_registry::task* task_registry::find(const std::string& id, const std::string* tenant) {
  sweep(system_clock::now());
  auto i = tasks_.find(id);
  if (i == tasks_.end() || (tenant && i->second.tenant != *tenant))
    return nullptr;
  return &i->second;
}

std::optional<json> task_registry::get(const std::string& id) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto t = find(id, nullptr);
  return t ? std::optional<json>{to_json(*t)} : std::nullopt;
}

std::optional<json> task_registry::get(const std::string& id, const std::string& tenant) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto t = find(id, &tenant);
  return t ? std::optional<json>{to_json(*t)} : std::nullopt;
}

void task_registry::set_message(const std::string& id, std::string message) {
  json changed;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (auto i = tasks_.find(id); i != tasks_.end() && i->second.status == "working") {
      i->second.message = std::move(message);
      i->second.updated = system_clock::now();
      changed = to_json(i->second);
    }
  }
  if (!changed.is_null())
    mirror(changed);
}

json task_registry::finish(task& t, const char* status) {
  t.status = status;
  t.updated = system_clock::now();
  return to_json(t);
}

void task_registry::publish(const json& task_json) {
  hub_->task_changed(task_json["taskId"].get<std::string>(), task_json);
  mirror(task_json);
}

void task_registry::complete(const std::string& id, json result) {
  end(id, "completed", std::move(result));
}

void task_registry::fail(const std::string& id, json error) {
  end(id, "failed", std::move(error));
}

void task_registry::end(const std::string& id, const char* status, json outcome) {
  json changed;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = tasks_.find(id);
    if (i == tasks_.end() || i->second.status != "working")
      return;
    i->second.outcome = std::move(outcome);
    i->second.message.clear();
    changed = finish(i->second, status);
  }
  publish(changed);
}

task_registry::cancel_outcome task_registry::cancel(const std::string& id) {
  return cancel(id, nullptr);
}

task_registry::cancel_outcome task_registry::cancel(const std::string& id, const std::string& tenant) {
  return cancel(id, &tenant);
}

task_registry::cancel_outcome task_registry::cancel(const std::string& id, const std::string* tenant) {
  json changed;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto t = find(id, tenant);
    if (!t)
      return cancel_outcome::not_found;
    if (t->status != "working")
      return cancel_outcome::already_ended;
    t->cancel->store(true);
    t->message = "cancelled by the client";
    changed = finish(*t, "cancelled");
  }
  publish(changed);
  return cancel_outcome::cancelled;
}

size_t task_registry::size() {
  std::lock_guard<std::mutex> guard{mtx_};
  return tasks_.size();
}

} // namespace cafmcp::protocol
