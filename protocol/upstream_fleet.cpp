// The upstreams a node runs, matched to the set its cluster's routing version names.
#include "protocol/upstream_fleet.hpp"

#include <algorithm>

#include <caf/all.hpp>

#include "base/log.hpp"
#include "protocol/upstream.hpp"
#include "supervision/messages.hpp"
#include "supervision/supervisor.hpp"

namespace cafmcp::protocol {

using nlohmann::json;

namespace {

constexpr const char* log_path = "/root/protocol_sup/upstream_sup";
constexpr std::chrono::seconds stop_limit{15}; // its shutdown is 2 s; the rest is the supervisor's queue

/// One set of changes, made step by step on a helper actor.
struct change_job {
  upstream_changes todo;
  upstream_fleet::environment env;
  std::function<void()> done;
};

void step(caf::event_based_actor* self, std::shared_ptr<change_job> job) {
  auto sup = job->env.names->lookup("upstream_sup");
  if (!sup) {
    log::error(log_path, "upstream_sup is not running: upstreams not changed");
    job->done();
    return self->quit();
  }
  auto& todo = job->todo;
  if (!todo.stop.empty()) {
    auto name = todo.stop.front();
    todo.stop.erase(todo.stop.begin());
    auto removed = [self, job, name] {
      if (job->env.metrics) // its calls and starts go with it (a replaced one counts from 0)
        job->env.metrics->retire("upstream", name);
      remove_upstream_entries(*job->env.store, name);
      log::info(log_path, "upstream " + name + " stopped and removed (its tools, prompts and resources with it)");
      step(self, job);
    };
    self->request(sup, stop_limit, supervision::terminate_child_atom::value, name)
      .then(
        [self, sup, job, name, removed](caf::actor&) {
          self->request(sup, stop_limit, supervision::delete_child_atom::value, name)
            .then([removed](caf::actor&) { removed(); },
                  [self, removed, name](caf::error& e) {
                    log::warning(log_path, "upstream " + name + ": its spec was not deleted: " + self->system().render(e));
                    removed();
                  });
        },
        [self, name, removed](caf::error& e) {
          // Not there (it never started), or stuck: its entries go all the same.
          log::warning(log_path, "upstream " + name + " could not be stopped: " + self->system().render(e));
          removed();
        });
    return;
  }
  if (!todo.start.empty()) {
    auto [name, entry] = todo.start.front();
    todo.start.erase(todo.start.begin());
    upstream_config cfg;
    try {
      cfg = parse_upstream(name, entry);
    } catch (const std::exception& e) {
      log::error(log_path, "upstream " + name + " not started: " + e.what());
      return step(self, job);
    }
    auto spec = upstream_spec(cfg, job->env.store, job->env.names, job->env.metrics, job->env.backoff);
    self->request(sup, cfg.start_timeout + stop_limit, supervision::start_child_atom::value, std::move(spec))
      .then(
        [self, job, name](caf::actor&) {
          log::info(log_path, "upstream " + name + " started: the cluster's routing version names it");
          step(self, job);
        },
        [self, job, name](caf::error& e) {
          log::warning(log_path, "upstream " + name + " did not start: " + self->system().render(e)
                                   + " (the supervisor retries it)");
          step(self, job);
        });
    return;
  }
  job->done();
  self->quit();
}

} // namespace

upstream_changes plan_upstreams(const json& running, const json& wanted) {
  upstream_changes out;
  for (auto& [name, entry] : running.items())
    if (!wanted.contains(name) || wanted[name] != entry)
      out.stop.push_back(name);
  for (auto& [name, entry] : wanted.items())
    if (!running.contains(name) || running[name] != entry)
      out.start.emplace_back(name, entry);
  return out;
}

std::string may_run(const std::string& name, const json& entry, const json& config_upstreams,
                    const std::vector<std::string>& programs) {
  if (config_upstreams.contains(name) && config_upstreams[name] == entry)
    return {};
  auto command = entry.is_object() ? entry.value("command", json::array()) : json::array();
  if (!command.is_array() || command.empty() || !command[0].is_string())
    return {}; // a server by URL
  auto program = command[0].get<std::string>();
  if (std::find(programs.begin(), programs.end(), program) != programs.end())
    return {};
  return "program " + program + " is not in this node's cluster.run_time_programs";
}

upstream_fleet::upstream_fleet(json config_upstreams, std::vector<std::string> programs)
  : config_(std::move(config_upstreams)), programs_(std::move(programs)), running_(config_) {
}

void upstream_fleet::serve(environment env) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    env_ = std::move(env);
  }
  next();
}

void upstream_fleet::run(json wanted) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    pending_ = std::move(wanted);
  }
  next();
}

json upstream_fleet::running() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return running_;
}

void upstream_fleet::next() {
  std::shared_ptr<change_job> job;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (busy_ || !pending_ || !env_)
      return;
    auto wanted = std::move(*pending_);
    pending_.reset();
    // A member never runs a program its own config does not allow.
    std::vector<std::string> refused;
    for (auto& [name, entry] : wanted.items())
      if (auto why = may_run(name, entry, config_, programs_); !why.empty()) {
        log::error(log_path, "upstream " + name + " not started: " + why);
        refused.push_back(name);
      }
    for (auto& name : refused)
      wanted.erase(name);
    auto todo = plan_upstreams(running_, wanted);
    running_ = std::move(wanted);
    if (todo.empty())
      return;
    busy_ = true;
    job = std::make_shared<change_job>();
    job->todo = std::move(todo);
    job->env = *env_;
    std::weak_ptr<upstream_fleet> weak = shared_from_this();
    job->done = [weak] {
      if (auto self = weak.lock())
        self->finished();
    };
  }
  job->env.sys->spawn([job](caf::event_based_actor* self) { step(self, job); });
}

void upstream_fleet::finished() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    busy_ = false;
  }
  next();
}

} // namespace cafmcp::protocol
