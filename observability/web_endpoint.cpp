// The observability endpoint actor (tier 3): /metrics, /health, /ready, the dashboard feed and alerts.
#include "observability/web_endpoint.hpp"

#include <algorithm>
#include <atomic>
#include <deque>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/messages.hpp"
#include "cluster/messages.hpp"
#include "observability/dashboard_page.hpp"
#include "observability/health.hpp"
#include "observability/otlp_exporter.hpp"
#include "observability/process_stats.hpp"
#include "observability/routing_summary.hpp"
#include "observability/web_server.hpp"
#include "base/log.hpp"
#include "supervision/messages.hpp"
#include "supervision/tree.hpp"
#include "supervision/tree_json.hpp"

namespace cafmcp::observability {

namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using clock = std::chrono::steady_clock;

/// One request from the web server's thread, answered exactly once: if
/// the actor is gone (tier 3 restarting), the guard answers 503.
struct web_job {
  std::string target;
  std::function<void(web_reply)> reply;
  bool answered = false;
  void answer(web_reply r) {
    answered = true;
    reply(std::move(r));
  }
  ~web_job() {
    if (!answered) {
      web_reply r;
      r.status = 503;
      r.body = "the observability tier is restarting; retry\n";
      reply(std::move(r));
    }
  }
};
using web_job_ptr = std::shared_ptr<web_job>;

} // namespace

} // namespace cafmcp::observability

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cafmcp::observability::web_job_ptr)

namespace cafmcp::observability {

namespace {

using web_tick_atom = caf::atom_constant<caf::atom("ob_tick")>;
using web_listen_atom = caf::atom_constant<caf::atom("ob_listen")>;

// -- alerts: error rate and p95 over the window ------------------------------------

struct sample {
  clock::time_point at;
  uint64_t answered = 0;
  uint64_t errors = 0;
  std::vector<uint64_t> buckets; // cumulative, over every method
};

struct alert {
  std::string name;
  bool active = false;
  std::string detail;
};

/// The dashboard's latest snapshot (JSON), refreshed every second while
/// someone watches (an /events stream asked in the last 10 s).
struct dashboard_feed {
  std::mutex mtx;
  std::string json;
  std::atomic<int64_t> asked_ms{0};
  std::atomic<bool> collecting{false};

  static int64_t now_ms() {
    return std::chrono::duration_cast<milliseconds>(clock::now().time_since_epoch()).count();
  }
  std::string event() {
    asked_ms = now_ms();
    std::lock_guard<std::mutex> guard{mtx};
    return json.empty() ? ": waiting for the first snapshot\n\n" : "data: " + json + "\n\n";
  }
};

struct web_state {
  web_config cfg;
  std::shared_ptr<actors::name_table> names;
  std::shared_ptr<cluster::cluster_view> view;
  std::shared_ptr<metrics::metrics_registry> metrics;
  std::shared_ptr<web_server> server; // while listening
  std::shared_ptr<std::shared_ptr<web_server>> held = std::make_shared<std::shared_ptr<web_server>>();
  std::deque<sample> samples;
  std::vector<double> bounds;
  std::map<std::string, alert> alerts;
  std::string path;
  std::shared_ptr<std::atomic<int>> inflight = std::make_shared<std::atomic<int>>(0);
  bool listen_failed = false;
  std::shared_ptr<dashboard_feed> feed = std::make_shared<dashboard_feed>();
};

using web_actor = caf::stateful_actor<web_state>;

sample take_sample(web_state& st) {
  sample s;
  s.at = clock::now();
  for (auto& [labels, v] : st.metrics->counter_values("cafmcp_requests_total")) {
    s.answered += v;
    for (auto& [k, val] : labels)
      if (k == "outcome" && val == "error")
        s.errors += v;
  }
  auto [bounds, buckets] = st.metrics->histogram_totals("cafmcp_request_duration_seconds");
  st.bounds = bounds;
  s.buckets = buckets;
  return s;
}

/// p95 (upper bucket bound) of the requests between two samples; -1: none.
double p95_between(const std::vector<double>& bounds, const sample& a, const sample& b) {
  if (b.buckets.empty())
    return -1;
  auto delta = [&](size_t i) { return b.buckets[i] - (i < a.buckets.size() ? a.buckets[i] : 0); };
  auto total = delta(b.buckets.size() - 1);
  if (total == 0)
    return -1;
  for (size_t i = 0; i < bounds.size(); ++i)
    if (static_cast<double>(delta(i)) >= 0.95 * static_cast<double>(total))
      return bounds[i];
  return bounds.empty() ? -1 : bounds.back() * 2; // beyond the last bucket
}

void set_alert(web_actor* self, const std::string& name, bool on, const std::string& detail) {
  auto& a = self->state.alerts[name];
  a.name = name;
  if (a.active != on) {
    if (on)
      log::warning(self->state.path, "alert raised: " + name + " (" + detail + ")");
    else
      log::info(self->state.path, "alert cleared: " + name + " (" + detail + ")");
  }
  a.active = on;
  a.detail = detail;
  self->state.metrics->gauge("cafmcp_alert_active", "1 while the alert is raised", {{"alert", name}})
    .set(on ? 1 : 0);
}

std::string percent(double x) {
  std::ostringstream s;
  s.precision(3);
  s << x * 100 << " %";
  return s.str();
}

void evaluate_alerts(web_actor* self) {
  auto& st = self->state;
  st.samples.push_back(take_sample(st));
  while (st.samples.size() > 2 && st.samples.front().at < st.samples.back().at - st.cfg.alert_window)
    st.samples.pop_front();
  auto& first = st.samples.front();
  auto& last = st.samples.back();
  auto answered = last.answered - first.answered;
  auto errors = last.errors - first.errors;
  double rate = answered > 0 ? static_cast<double>(errors) / static_cast<double>(answered) : 0;
  set_alert(self, "error_rate", answered >= 20 && rate > st.cfg.error_rate_alert,
            percent(rate) + " of " + std::to_string(answered) + " requests failed; limit "
              + percent(st.cfg.error_rate_alert));
  auto p95 = p95_between(st.bounds, first, last);
  std::ostringstream p;
  p << "p95 " << (p95 < 0 ? std::string{"-"} : std::to_string(p95) + " s") << "; limit " << st.cfg.p95_alert_seconds
    << " s";
  set_alert(self, "latency_p95", p95 > st.cfg.p95_alert_seconds, p.str());
  auto proc = read_process();
  double mem = memory_ratio(proc);
  set_alert(self, "memory", mem > st.cfg.memory_alert_ratio,
            percent(mem) + " of " + memory_limit_text(proc) + "; limit " + percent(st.cfg.memory_alert_ratio));
  if (st.cfg.backups) {
    auto b = st.cfg.backups->get();
    if (b.enabled)
      set_alert(self, "backup", b.failing > 0,
                b.failing > 0 ? std::to_string(b.failing) + " scheduled backup(s) failed in a row: " + b.last_error
                              : b.last_file.empty() ? std::string{"no scheduled backup yet"}
                                                    : "last scheduled backup: " + b.last_file);
  }
}

// -- collecting (a detached worker per request: the calls below block) -------------

struct collected {
  std::optional<supervision::tree_node> tree;
  std::optional<health_report> core;
  std::optional<cluster::replication_status> replication;
  std::vector<actors::breaker_status> breakers;
  std::optional<actors::rate_stats> rates;
  std::vector<actors::chaos_experiment> chaos;
  int64_t sessions = -1;
};

template <class T>
std::optional<T> ask(caf::scoped_actor& self, const caf::actor& who, caf::message msg) {
  if (!who)
    return std::nullopt;
  std::optional<T> out;
  self->request(who, milliseconds{500}, std::move(msg))
    .receive([&](T& x) { out = std::move(x); }, [](caf::error&) {});
  return out;
}

collected collect(caf::actor_system& sys, const web_state& st, bool tree) {
  collected c;
  caf::scoped_actor self{sys};
  if (tree)
    if (auto root = st.names->lookup("root"))
      if (auto t = supervision::collect_tree(sys, root, "root", "/root", milliseconds{500})) {
        // Queue depths: every actor that answers it measures its own mailbox.
        std::function<void(supervision::tree_node&)> measure = [&](supervision::tree_node& n) {
          for (auto& k : n.children)
            measure(k);
          if (n.answers_mailbox && n.handle)
            if (auto depth = ask<uint64_t>(self, n.handle, caf::make_message(supervision::mailbox_atom::value)))
              n.mailbox = static_cast<int64_t>(*depth);
        };
        measure(*t);
        c.tree = std::move(*t);
      }
  c.core = ask<health_report>(self, st.names->lookup("health"), caf::make_message(health_atom::value));
  c.replication = ask<cluster::replication_status>(self, st.names->lookup("replicator"),
                                                   caf::make_message(cluster::repl_status_atom::value));
  if (auto b = ask<std::vector<actors::breaker_status>>(self, st.names->lookup("circuit_breakers"),
                                                        caf::make_message(actors::breaker_list_atom::value)))
    c.breakers = std::move(*b);
  c.rates = ask<actors::rate_stats>(self, st.names->lookup("rate_limiter"), caf::make_message(actors::rate_stats_atom::value));
  if (auto x = ask<std::vector<actors::chaos_experiment>>(self, st.names->lookup("chaos"),
                                                          caf::make_message(actors::chaos_list_atom::value)))
    c.chaos = std::move(*x);
  if (c.replication) {
    c.sessions = static_cast<int64_t>(c.replication->sessions);
  } else if (auto list = ask<std::vector<actors::session_record>>(self, st.names->lookup("session_manager"),
                                                                 caf::make_message(actors::session_list_atom::value))) {
    c.sessions = static_cast<int64_t>(list->size());
  }
  return c;
}

void walk(const supervision::tree_node& n, metrics::metrics_registry& m) {
  if (!n.restart.empty())
    m.gauge("cafmcp_child_restarts", "Restarts of a supervised child since its supervisor started",
            {{"path", n.path}})
      .set(static_cast<double>(n.restarts));
  if (n.mailbox >= 0) {
    m.gauge("cafmcp_queue_depth", "Messages waiting in an actor's mailbox", {{"path", n.path}})
      .set(static_cast<double>(n.mailbox));
  }
  for (auto& c : n.children)
    walk(c, m);
}

/// Paths of the children parked in the tree (optional ones past their
/// supervisor's intensity, waiting to be retried).
void parked_paths(const supervision::tree_node& n, std::vector<std::string>& out) {
  if (n.state == "parked")
    out.push_back(n.path);
  for (auto& k : n.children)
    parked_paths(k, out);
}

int64_t deepest_mailbox(const supervision::tree_node& n) {
  auto out = n.mailbox;
  for (auto& k : n.children)
    out = std::max(out, deepest_mailbox(k));
  return out;
}

std::string render_metrics(const web_state& st, const collected& c) {
  auto& m = *st.metrics;
  if (c.tree) {
    walk(*c.tree, m);
    std::vector<std::string> parked;
    parked_paths(*c.tree, parked);
    m.gauge("cafmcp_children_parked", "Optional children parked past their supervisor's intensity (degraded)")
      .set(static_cast<double>(parked.size()));
  }
  if (c.rates) {
    // Counted since the node started (the limits outlive a limiter restart).
    m.counter("cafmcp_rate_limit_rejections_total", "MCP requests refused by a rate limit (HTTP 429)",
              {{"limit", "client"}})
      .store(c.rates->client_rejected);
    m.counter("cafmcp_rate_limit_rejections_total", "MCP requests refused by a rate limit (HTTP 429)",
              {{"limit", "tool"}})
      .store(c.rates->tool_rejected);
    m.counter("cafmcp_rate_limit_allowed_total", "Requests a rate limit let through").store(c.rates->allowed);
    m.gauge("cafmcp_rate_limit_keys", "Client keys with a token bucket (recently active clients)")
      .set(static_cast<double>(c.rates->keys));
    m.counter("cafmcp_rate_limit_overflow_total", "Requests of new clients while the key table was full (shared bucket)")
      .store(c.rates->overflowed);
  }
  // Keys are tools of the catalog and cluster members: bounded label values.
  for (auto& b : c.breakers) {
    m.gauge("cafmcp_circuit_breaker_state", "Circuit breaker state: 0 closed, 1 half_open, 2 open", {{"key", b.key}})
      .set(b.state == "open" ? 2 : b.state == "half_open" ? 1 : 0);
    m.counter("cafmcp_circuit_breaker_opened_total", "Times a circuit opened", {{"key", b.key}}).store(b.opened);
    m.counter("cafmcp_circuit_breaker_rejections_total", "Calls refused at once by an open circuit", {{"key", b.key}})
      .store(b.rejected);
  }
  if (c.sessions >= 0)
    m.gauge("cafmcp_sessions", "MCP sessions, state handles and tasks this node leads").set(static_cast<double>(c.sessions));
  if (st.view) {
    std::map<std::pair<std::string, std::string>, int> members;
    for (auto& r : st.view->rows())
      ++members[{r.state, r.health}];
    for (auto state : {"joining", "up", "leaving", "exiting", "down", "removed"})
      for (auto health : {"healthy", "degraded", "unhealthy"}) {
        auto i = members.find({state, health});
        if (i != members.end() || std::string{state} == "up")
          m.gauge("cafmcp_cluster_members", "Members by state and health, as this node sees them",
                  {{"state", state}, {"health", health}})
            .set(i == members.end() ? 0 : i->second);
      }
    for (auto& r : st.view->rows())
      if (!r.self && r.rtt_us >= 0)
        m.gauge("cafmcp_cluster_heartbeat_rtt_seconds", "The last heartbeat round trip to each reachable member",
                {{"peer", r.node}})
          .set(static_cast<double>(r.rtt_us) / 1e6);
    m.gauge("cafmcp_node_fenced", "1 while this node is fenced (the losing side of a partition)")
      .set(st.view->fenced() ? 1 : 0);
  }
  if (c.replication) {
    auto& r = *c.replication;
    m.gauge("cafmcp_replication_records", "Records this node is a replica of").set(static_cast<double>(r.records));
    m.gauge("cafmcp_replication_pending_writes", "Writes waiting for acknowledgements").set(static_cast<double>(r.pending_writes));
    m.counter("cafmcp_replication_refused_clock_drift_total",
              "Replicated writes refused: stamped more than cluster.replication.max_clock_drift_ms ahead of our clock")
      .store(r.refused_clock_drift);
    m.counter("cafmcp_replication_disk_failures_total",
              "WAL appends and snapshots of the replicas that failed (the data directory could not be written)")
      .store(r.disk_failures);
    m.counter("cafmcp_replication_wal_appends_total",
              "WAL appends of the replicas (each one fdatasync with cluster.replication.durability fsync)")
      .store(r.wal_appends);
    m.gauge("cafmcp_replication_disk_ok", "1 while the replicas can be written to the data directory, else 0")
      .set(r.disk_error.empty() ? 1 : 0);
    m.gauge("cafmcp_replication_tombstones", "Deleted records this node remembers (cluster.replication.tombstone_ttl_ms)")
      .set(static_cast<double>(r.tombstones));
    m.counter("cafmcp_replication_refused_stale_total",
              "Copies refused: not held here and older than cluster.replication.tombstone_ttl_ms (maybe deleted)")
      .store(r.refused_stale);
    for (auto& p : r.peers) {
      m.gauge("cafmcp_replication_lag_seconds", "Age of the oldest unacknowledged replication to a peer",
              {{"peer", p.peer}})
        .set(static_cast<double>(p.lag_ms) / 1000.0);
      m.gauge("cafmcp_replication_pending", "Deltas sent to a peer and not acknowledged", {{"peer", p.peer}})
        .set(static_cast<double>(p.sent - std::min(p.sent, p.acked)));
      m.counter("cafmcp_replication_sent_bytes_total", "Replication payload sent to a peer", {{"peer", p.peer}})
        .store(p.bytes_sent);
    }
  }
  auto proc = read_process();
  m.gauge("cafmcp_process_resident_memory_bytes", "Resident memory of the node process").set(proc.resident_bytes);
  m.gauge("cafmcp_process_memory_limit_bytes",
          "The memory the memory check compares against: the cgroup's memory.max, else the machine's RAM")
    .set(proc.memory_limit_bytes);
  m.gauge("cafmcp_process_cpu_seconds", "CPU time the node process has used (user + system), in seconds")
    .set(proc.cpu_seconds);
  m.gauge("cafmcp_process_threads", "Threads of the node process").set(proc.threads);
  bool healthy = c.core && c.core->status == "healthy";
  m.gauge("cafmcp_process_health", "1 while the core actors are alive and answer, else 0").set(healthy ? 1 : 0);
  return m.render();
}

web_reply health_reply(const web_state& st, const collected& c) {
  auto checks = json::array();
  bool ok = true;
  auto check = [&](const std::string& name, bool pass, const std::string& detail) {
    checks.push_back({{"name", name}, {"ok", pass}, {"detail", detail}});
    ok = ok && pass;
  };
  if (c.core) {
    for (auto& h : c.core->checks)
      check("core:" + h.name, h.ok, h.detail);
  } else {
    check("core", false, "the health checker does not answer");
  }
  if (st.view) {
    auto why = st.view->fenced();
    check("quorum", !why, why ? *why : "this node's side of the cluster holds the quorum");
  }
  if (c.replication) {
    auto& r = *c.replication;
    check("disk", r.disk_error.empty(),
          r.disk_error.empty() ? "the replicas are written to the data directory (durability " + r.durability + ")"
                               : "cannot persist the replicas: " + r.disk_error
                                   + (r.durability == "fsync" ? "; writes that need this node's disk are refused" : ""));
  }
  auto proc = read_process();
  double mem = memory_ratio(proc);
  check("memory", mem <= st.cfg.memory_alert_ratio,
        percent(mem) + " of " + memory_limit_text(proc) + " (limit " + percent(st.cfg.memory_alert_ratio) + ")");
  if (c.tree) {
    std::vector<std::string> parked;
    parked_paths(*c.tree, parked);
    std::string list;
    for (auto& p : parked)
      list += (list.empty() ? "" : ", ") + p;
    check("supervision", parked.empty(),
          parked.empty() ? "no child is parked"
                         : "parked (optional; the node serves without them and retries them with backoff): " + list);
  }
  auto deepest = c.tree ? std::max<int64_t>(0, deepest_mailbox(*c.tree)) : int64_t{0}; // unmeasured: -1
  check("queue_depth", deepest <= st.cfg.queue_depth_limit,
        "deepest mailbox " + std::to_string(deepest) + " (limit " + std::to_string(st.cfg.queue_depth_limit) + ")");
  auto alerts = json::array();
  for (auto& [name, a] : st.alerts) {
    if (a.active)
      alerts.push_back({{"name", name}, {"detail", a.detail}});
    if (name == "error_rate")
      check("error_rate", !a.active, a.detail);
  }
  web_reply r;
  r.status = ok ? 200 : 503;
  r.content_type = "application/json";
  auto body = json{{"status", ok ? "healthy" : "degraded"}, {"node", st.cfg.node_name}, {"checks", checks},
                   {"alerts", alerts}};
  if (!st.cfg.cluster_transport.empty())
    body["cluster_transport"] = st.cfg.cluster_transport;
  if (!st.cfg.mcp_auth.empty())
    body["mcp_auth"] = st.cfg.mcp_auth;
  r.body = body.dump(2) + "\n";
  return r;
}

/// The dashboard's snapshot: members, sessions per member, the tree, the
/// request rate and p95 per second over the alert window, active alerts.
std::string dashboard_json(caf::actor_system& sys, const web_state& st, const collected& c) {
  json out{{"node", st.cfg.node_name},
           {"time_ms", std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count()}};
  auto members = json::array();
  auto sessions = json::object();
  if (c.replication)
    sessions[st.cfg.node_name] = c.replication->sessions;
  else if (c.sessions >= 0)
    sessions[st.cfg.node_name] = c.sessions;
  if (st.view) {
    caf::scoped_actor self{sys};
    auto node = st.names->lookup("node");
    for (auto& r : st.view->rows()) {
      members.push_back({{"node", r.node}, {"state", r.state}, {"health", r.health}, {"side", r.side},
                         {"leader", r.leader}, {"self", r.self}, {"last_heartbeat_ms", r.last_heartbeat_ms},
                         {"rtt_us", r.rtt_us}});
      if (r.self || r.state != "up" || r.health == "unhealthy" || !node)
        continue;
      // Another member's sessions: its replicator, through our node actor.
      if (auto s = ask<cluster::replication_status>(
            self, node,
            caf::make_message(cluster::call_atom::value, r.node, std::string{"replicator"},
                              caf::make_message(cluster::repl_status_atom::value))))
        sessions[r.node] = s->primaries;
    }
  }
  out["members"] = members;
  out["sessions"] = sessions;
  out["tree"] = c.tree ? supervision::tree_json(*c.tree) : json(nullptr);
  auto breakers = json::array();
  for (auto& b : c.breakers)
    if (b.state != "closed" || b.opened > 0)
      breakers.push_back({{"key", b.key}, {"state", b.state}, {"failures", b.failures}, {"opened", b.opened},
                          {"rejected", b.rejected}, {"retry_after_ms", b.retry_after_ms}});
  out["breakers"] = breakers;
  auto chaos = json::array();
  for (auto& x : c.chaos)
    if (x.state == "active")
      chaos.push_back({{"id", x.id}, {"what", x.what}, {"ends_ms", x.ends_ms}, {"injected", x.injected}});
  out["chaos"] = chaos;
  out["routing"] = routing_summary(*st.metrics);
  if (c.rates)
    out["rate_limited"] = {{"client", c.rates->client_rejected}, {"tool", c.rates->tool_rejected},
                           {"keys", c.rates->keys}};
  auto history = json::array();
  auto& samples = st.samples;
  for (size_t i = 1; i < samples.size(); ++i) {
    auto dt = std::chrono::duration<double>(samples[i].at - samples[i - 1].at).count();
    auto rate = dt > 0 ? static_cast<double>(samples[i].answered - samples[i - 1].answered) / dt : 0;
    auto p95 = p95_between(st.bounds, samples[i >= 5 ? i - 5 : 0], samples[i]);
    history.push_back({{"rate", rate}, {"p95_ms", p95 < 0 ? -1.0 : p95 * 1000}});
  }
  json requests{{"total", samples.empty() ? 0 : samples.back().answered},
                {"errors", samples.empty() ? 0 : samples.back().errors},
                {"rate", history.empty() ? 0.0 : history.back()["rate"].get<double>()},
                {"p95_ms", history.empty() ? -1.0 : history.back()["p95_ms"].get<double>()}};
  out["requests"] = requests;
  out["history"] = history;
  auto alerts = json::array();
  for (auto& [name, a] : st.alerts)
    if (a.active)
      alerts.push_back({{"name", name}, {"detail", a.detail}});
  out["alerts"] = alerts;
  return out.dump();
}

/// A copy of what a worker thread reads (the actor's state is its own).
std::shared_ptr<web_state> snapshot_of(const web_state& st) {
  auto s = std::make_shared<web_state>();
  s->cfg = st.cfg;
  s->names = st.names;
  s->view = st.view;
  s->metrics = st.metrics;
  s->alerts = st.alerts;
  s->samples = st.samples;
  s->bounds = st.bounds;
  return s;
}

void refresh_dashboard(web_actor* self) {
  auto& st = self->state;
  auto feed = st.feed;
  if (dashboard_feed::now_ms() - feed->asked_ms.load() > 10000 || feed->collecting.exchange(true))
    return; // nobody watches, or a refresh is under way
  auto snapshot = snapshot_of(st);
  // (An argument besides the actor: argument-less function actors trip UBSan in CAF 0.17.)
  self->spawn<caf::detached + caf::linked>([snapshot, feed](caf::event_based_actor* worker, std::string /* what */) {
    auto c = collect(worker->system(), *snapshot, true);
    auto text = dashboard_json(worker->system(), *snapshot, c);
    {
      std::lock_guard<std::mutex> guard{feed->mtx};
      feed->json = std::move(text);
    }
    feed->collecting = false;
    worker->quit();
  }, std::string{"dashboard"});
}

/// Serves one request on its own thread (the collection blocks), bounded:
/// a scraper hammering the endpoint gets 503 beyond four at once.
void serve(web_actor* self, web_job_ptr job) {
  auto& st = self->state;
  auto target = job->target.substr(0, job->target.find('?'));
  // Liveness: the process serves. Nothing about the cluster (quorum,
  // fencing, error rates) belongs here: a probe that fails on those gets a
  // healthy process restarted in a loop during a partition.
  if (target == "/live") {
    bool live = st.names->lookup("root") != nullptr;
    web_reply r;
    r.status = live ? 200 : 503;
    r.body = live ? "live\n" : "starting\n";
    return job->answer(std::move(r));
  }
  if (target == "/ready") {
    bool ready = st.names->lookup("root") && !(st.view && st.view->fenced());
    web_reply r;
    r.status = ready ? 200 : 503;
    r.body = ready ? "ready\n" : (st.view && st.view->fenced() ? *st.view->fenced() + "\n" : "starting\n");
    return job->answer(std::move(r));
  }
  if (target == "/" || target == "/dashboard") {
    web_reply r;
    r.content_type = "text/html; charset=utf-8";
    r.body = dashboard_page();
    return job->answer(std::move(r));
  }
  if (target == "/events") {
    auto feed = st.feed;
    feed->asked_ms = dashboard_feed::now_ms();
    refresh_dashboard(self);
    web_reply r;
    r.body = "retry: 1000\n\n" + feed->event();
    r.next = [feed] { return feed->event(); };
    return job->answer(std::move(r));
  }
  if (target != "/metrics" && target != "/health") {
    web_reply r;
    r.status = 404;
    r.body = "not found; try /dashboard, /metrics, /health, /ready or /live\n";
    return job->answer(std::move(r));
  }
  if (st.inflight->fetch_add(1) >= 4) {
    st.inflight->fetch_sub(1);
    web_reply r;
    r.status = 503;
    r.body = "too many requests at once\n";
    return job->answer(std::move(r));
  }
  auto snapshot = snapshot_of(st);
  auto inflight = st.inflight;
  self->spawn<caf::detached + caf::linked>([snapshot, job, inflight](caf::event_based_actor* worker, std::string target) {
    auto c = collect(worker->system(), *snapshot, true);
    if (target == "/metrics") {
      web_reply r;
      r.content_type = "text/plain; version=0.0.4; charset=utf-8";
      r.body = render_metrics(*snapshot, c);
      job->answer(std::move(r));
    } else {
      job->answer(health_reply(*snapshot, c));
    }
    inflight->fetch_sub(1);
    worker->quit();
  }, target);
}

/// Opens the port. A port in use must not stop the node (tier 3 is
/// optional to it): said once, then tried again every 10 s.
void listen(web_actor* self) {
  auto& st = self->state;
  auto me = caf::actor_cast<caf::actor>(self);
  try {
    st.server = start_web_server(st.cfg.host, st.cfg.port,
                                 [me](const std::string& target, std::function<void(web_reply)> reply) {
                                   auto job = std::make_shared<web_job>();
                                   job->target = target;
                                   job->reply = std::move(reply);
                                   caf::anon_send(me, std::move(job)); // dropped if dead: the guard answers 503
                                 },
                                 st.cfg.server);
    *st.held = st.server;
    log::info(st.path, "metrics, health and readiness on http://" + st.cfg.host + ":"
                         + std::to_string(bound_port(*st.server)) + "/metrics, /health, /ready; dashboard on /dashboard");
  } catch (const std::exception& e) {
    if (!st.listen_failed)
      log::warning(st.path, std::string{e.what()} + "; trying again every 10 s");
    st.listen_failed = true;
    self->delayed_send(self, std::chrono::seconds(10), web_listen_atom::value);
  }
}

caf::behavior web_actor_fun(web_actor* self, web_config cfg, std::shared_ptr<actors::name_table> names,
                            std::shared_ptr<cluster::cluster_view> view,
                            std::shared_ptr<metrics::metrics_registry> metrics, std::string path) {
  auto& st = self->state;
  st.cfg = cfg;
  st.names = std::move(names);
  st.view = std::move(view);
  st.metrics = std::move(metrics);
  st.path = path;
  // (Not through self: the state is gone when attached functors run.)
  self->attach_functor([held = st.held](const caf::error&) {
    if (*held)
      stop_web_server(**held);
  });
  // Listening before the first message is handled: whoever asks for the
  // port (the node's ready line) gets the bound one. A detached actor may
  // block here; it has its own thread.
  listen(self);
  self->send(self, web_tick_atom::value);
  return {
    [self](web_listen_atom) { listen(self); }, // a retry after a failed listen
    [self](web_job_ptr& job) { serve(self, std::move(job)); },
    [self](web_tick_atom) {
      evaluate_alerts(self);
      refresh_dashboard(self);
      self->delayed_send(self, std::chrono::seconds(1), web_tick_atom::value);
    },
    [self](caf::get_atom) {
      return static_cast<uint32_t>(self->state.server ? bound_port(*self->state.server) : 0);
    },
    [self](supervision::mailbox_atom) { return static_cast<uint64_t>(self->mailbox().size()); },
  };
}

} // namespace

supervision::child_spec web_endpoint_spec(web_config cfg, std::shared_ptr<actors::name_table> names,
                                          std::shared_ptr<cluster::cluster_view> view,
                                          std::shared_ptr<metrics::metrics_registry> metrics) {
  supervision::child_spec spec;
  spec.id = "web";
  spec.answers_mailbox = true;
  spec.start = [cfg, names, view, metrics](const supervision::start_context& ctx) -> caf::expected<caf::actor> {
    return ctx.system.spawn<caf::detached>(web_actor_fun, cfg, names, view, metrics, ctx.path);
  };
  spec.shutdown = supervision::shutdown_spec::after(std::chrono::milliseconds{2000});
  return spec;
}

} // namespace cafmcp::observability
