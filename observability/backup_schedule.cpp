// Scheduled backups: the leader backs the cluster up every interval, keeps the newest files, retries with backoff.
#include "observability/backup_schedule.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <random>

#include <dirent.h>
#include <sys/stat.h>

#include <caf/all.hpp>

#include "base/log.hpp"
#include "cluster/backup_job.hpp"
#include "supervision/restart_backoff.hpp"
#include "supervision/worker.hpp"

namespace cafmcp::observability {

namespace {

using std::chrono::milliseconds;
using clock = std::chrono::steady_clock;

using backup_due_atom = caf::atom_constant<caf::atom("bk_due")>;
using backup_done_atom = caf::atom_constant<caf::atom("bk_done")>;

constexpr const char* prefix = "cafmcp-backup-";
constexpr const char* suffix = ".bak";

int64_t unix_ms() {
  return std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> out;
  if (auto* d = ::opendir(dir.c_str())) {
    while (auto* e = ::readdir(d))
      out.emplace_back(e->d_name);
    ::closedir(d);
  }
  return out;
}

struct schedule_state {
  backup_schedule_config cfg;
  std::shared_ptr<actors::name_table> names;
  std::shared_ptr<cluster::cluster_view> view;
  std::shared_ptr<backup_status> status;
  std::shared_ptr<metrics::metrics_registry> metrics;
  std::string path;
  supervision::restart_backoff backoff;
  clock::time_point attempt_started{};
  bool running = false;
  std::mt19937_64 rng{std::random_device{}()};
};

using schedule_actor = caf::stateful_actor<schedule_state>;

void schedule(schedule_actor* self, milliseconds after) {
  self->state.status->update([&](backup_status::view& v) { v.next_attempt_ms = unix_ms() + after.count(); });
  self->delayed_send(self, after, backup_due_atom::value);
}

bool leads(schedule_actor* self) {
  for (auto& r : self->state.view->rows())
    if (r.self)
      return r.leader && r.state == "up";
  return false;
}

/// Deletes the oldest scheduled backups beyond the retention count.
void prune(schedule_actor* self) {
  auto& st = self->state;
  for (auto& name : expired_backups(list_dir(st.cfg.directory), st.cfg.retention)) {
    auto file = st.cfg.directory + "/" + name;
    if (std::remove(file.c_str()) == 0)
      log::info(st.path, "deleted the old backup " + file + " (backup.retention " + std::to_string(st.cfg.retention) + ")");
    else
      log::warning(st.path, "cannot delete the old backup " + file);
  }
}

/// One backup in a detached worker: it blocks on the members and the disk.
void start_backup(schedule_actor* self) {
  auto& st = self->state;
  st.attempt_started = clock::now();
  auto node = st.names->lookup("node");
  if (!node) {
    self->send(self, backup_done_atom::value, false, std::string{"the node actor is not running"}, uint64_t{0});
    return;
  }
  cluster::backup_options o;
  o.out = st.cfg.directory + "/" + backup_file_name(unix_ms());
  // The key is read (and a passphrase stretched, ~0.1 s) in the worker,
  // not on this actor's scheduler thread.
  auto key_file = st.cfg.key_file;
  auto passphrase_file = st.cfg.passphrase_file;
  o.taken_by = "schedule on " + st.cfg.node_name;
  st.running = true;
  st.status->update([](backup_status::view& v) { v.running = true; });
  log::info(st.path, "scheduled backup to " + o.out);
  auto parent = caf::actor_cast<caf::actor>(self);
  self->spawn<caf::detached>([parent, node, o, key_file, passphrase_file](caf::event_based_actor* w) mutable {
    try {
      cluster::backup_secret secret;
      secret.key_file = key_file;
      if (!passphrase_file.empty()) {
        secret.passphrase = cluster::read_passphrase_file(passphrase_file);
        secret.has_passphrase = true;
      }
      o.key = cluster::make_backup_key(secret); // read each time: a key file replaced meanwhile is used
      auto r = cluster::run_backup(w->system(), node, o);
      w->send(parent, backup_done_atom::value, true, o.out, r.summary.records);
    } catch (const std::exception& e) {
      w->send(parent, backup_done_atom::value, false, std::string{e.what()}, uint64_t{0});
    }
    w->quit();
  });
}

void finished(schedule_actor* self, bool ok, const std::string& what, uint64_t records) {
  auto& st = self->state;
  st.running = false;
  auto took = std::chrono::duration<double>(clock::now() - st.attempt_started).count();
  auto& m = *st.metrics;
  if (ok) {
    st.backoff = {};
    st.status->update([&](backup_status::view& v) {
      v.running = false;
      ++v.succeeded;
      v.failing = 0;
      v.last_success_ms = unix_ms();
      v.last_file = what;
      v.last_error.clear();
    });
    m.counter("cafmcp_backups_total", "Scheduled backups", {{"result", "ok"}}).inc();
    m.gauge("cafmcp_backup_last_success_timestamp_seconds", "When the last scheduled backup finished (Unix time)")
      .set(static_cast<double>(unix_ms()) / 1000.0);
    m.gauge("cafmcp_backup_last_records", "Records in the last scheduled backup").set(static_cast<double>(records));
    m.gauge("cafmcp_backup_last_duration_seconds", "How long the last scheduled backup took").set(took);
    log::info(st.path, "scheduled backup " + what + ": " + std::to_string(records) + " records");
    prune(self);
    schedule(self, st.cfg.interval);
    return;
  }
  m.counter("cafmcp_backups_total", "Scheduled backups", {{"result", "failed"}}).inc();
  std::uniform_real_distribution<double> unit{0.0, 1.0};
  auto delay = st.backoff.next(st.cfg.retry, st.attempt_started, clock::now(), unit(st.rng));
  st.status->update([&](backup_status::view& v) {
    v.running = false;
    ++v.failed;
    ++v.failing;
    v.last_error = what;
  });
  log::warning(st.path, "scheduled backup failed (" + what + "); retrying in " + std::to_string(delay.count()) + " ms");
  schedule(self, delay);
}

caf::behavior backup_schedule_fun(schedule_actor* self, backup_schedule_config cfg,
                                  std::shared_ptr<actors::name_table> names, std::shared_ptr<cluster::cluster_view> view,
                                  std::shared_ptr<backup_status> status,
                                  std::shared_ptr<metrics::metrics_registry> metrics, std::string path) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.names = std::move(names);
  st.view = std::move(view);
  st.status = std::move(status);
  st.metrics = std::move(metrics);
  st.path = std::move(path);
  st.status->update([](backup_status::view& v) {
    v.enabled = true;
    v.running = false;
  });
  schedule(self, st.cfg.interval);
  return {
    [self](backup_due_atom) {
      auto& st = self->state;
      if (st.running)
        return; // a restarted schedule's old timer: the backup under way reschedules
      if (!st.view || !leads(self)) {
        // The leader backs the cluster up; the others stand by (and a former
        // leader's failures are no longer this node's to report).
        st.status->update([](backup_status::view& v) { v.failing = 0; });
        return schedule(self, st.cfg.interval);
      }
      start_backup(self);
    },
    [self](backup_done_atom, bool ok, const std::string& what, uint64_t records) { finished(self, ok, what, records); },
  };
}

} // namespace

config::field backup_config_field() {
  using config::value_type;
  return {"backup", value_type::object, {}, "scheduled encrypted backups of the cluster (docs/OPERATIONS.md#backups)",
          {}, {}, {},
          {
            {"enabled", value_type::boolean, false,
             "the cluster's leader backs up every record every interval (cluster nodes only)", {}, {}, {}, {}},
            {"interval_ms", value_type::integer, 3600000, "time between scheduled backups", 1000, {}, {}, {}},
            {"directory", value_type::string, "", "where scheduled backups are written (required when enabled)", {},
             {}, {}, {}},
            {"retention", value_type::integer, 7, "scheduled backups kept in the directory; older ones are deleted", 1,
             10000, {}, {}},
            {"key_file", value_type::string, "", "the 32-byte key (mode 0600; cafmcp backup keygen)", {}, {}, {}, {}},
            {"passphrase_file", value_type::string, "",
             "instead of key_file: a file (mode 0600) whose first line is the passphrase", {}, {}, {}, {}},
            {"retry_initial_ms", value_type::integer, 10000, "a failed backup is retried after this, then longer",
             100, {}, {}, {}},
            {"retry_max_ms", value_type::integer, 600000, "the longest wait between retries", 100, {}, {}, {}},
          }};
}

backup_schedule_config backup_config_from(const nlohmann::json& v) {
  backup_schedule_config out;
  auto& b = v.at("backup");
  out.enabled = b.at("enabled").get<bool>();
  out.interval = milliseconds{b.at("interval_ms").get<int64_t>()};
  out.directory = b.at("directory").get<std::string>();
  out.retention = b.at("retention").get<size_t>();
  out.key_file = b.at("key_file").get<std::string>();
  out.passphrase_file = b.at("passphrase_file").get<std::string>();
  out.retry.initial = milliseconds{b.at("retry_initial_ms").get<int64_t>()};
  out.retry.max = milliseconds{b.at("retry_max_ms").get<int64_t>()};
  if (out.retry.max < out.retry.initial)
    throw config::config_error("backup.retry_max_ms", "must be at least backup.retry_initial_ms");
  if (!out.enabled)
    return out;
  if (out.directory.empty())
    throw config::config_error("backup.directory", "scheduled backups need a directory to write to");
  struct stat st {};
  if (::stat(out.directory.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw config::config_error("backup.directory", "\"" + out.directory + "\" is not a directory");
  if (out.key_file.empty() == out.passphrase_file.empty())
    throw config::config_error("backup.key_file", "scheduled backups need exactly one of backup.key_file and "
                                                  "backup.passphrase_file");
  return out;
}

std::string backup_file_name(int64_t ms) {
  auto t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%S", &tm);
  char millis[8];
  std::snprintf(millis, sizeof millis, "%03d", static_cast<int>(ms % 1000));
  return std::string{prefix} + buf + millis + "Z" + suffix;
}

std::vector<std::string> expired_backups(std::vector<std::string> names, size_t keep) {
  names.erase(std::remove_if(names.begin(), names.end(),
                             [](const std::string& n) {
                               auto p = std::string{prefix}, s = std::string{suffix};
                               return n.size() <= p.size() + s.size() || n.compare(0, p.size(), p) != 0
                                      || n.compare(n.size() - s.size(), s.size(), s) != 0;
                             }),
              names.end());
  std::sort(names.begin(), names.end()); // the names sort by time
  if (names.size() <= keep)
    return {};
  names.resize(names.size() - keep);
  return names;
}

supervision::child_spec backup_schedule_spec(backup_schedule_config cfg, std::shared_ptr<actors::name_table> names,
                                             std::shared_ptr<cluster::cluster_view> view,
                                             std::shared_ptr<backup_status> status,
                                             std::shared_ptr<metrics::metrics_registry> metrics) {
  auto spec = supervision::worker_child("backup_schedule", backup_schedule_fun, cfg, names, view, status, metrics);
  spec.optional = true;
  return spec;
}

} // namespace cafmcp::observability
