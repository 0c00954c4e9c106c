// `cafmcp status`: one row per member, or JSON.
#include "cli/status_command.hpp"

#include <cstdio>
#include <iostream>

#include <poll.h>
#include <unistd.h>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <nlohmann/json.hpp>

#include "cluster/admin_client.hpp"
#include "cluster/client.hpp"
#include "cluster/messages.hpp"
#include "cli/cluster_connection.hpp"
#include "cli/text_table.hpp"

namespace cafmcp::cli {

namespace {

constexpr auto timeout = std::chrono::seconds(5);

/// Whether a member is worth asking (up and not unhealthy: others would
/// only time out).
bool answers(const cluster::status_row& r) {
  return r.state == "up" && r.health != "unhealthy";
}

nlohmann::json chaos_json(const std::string& member, const chaos_map& chaos) {
  auto out = nlohmann::json::array();
  if (auto i = chaos.find(member); i != chaos.end())
    for (auto& x : i->second)
      out.push_back({{"id", x.id}, {"kind", x.kind}, {"what", x.what}, {"ends_ms", x.ends_ms}, {"injected", x.injected}});
  return out;
}

} // namespace

int64_t max_lag_ms(const cluster::replication_status& s) {
  int64_t lag = 0;
  for (auto& p : s.peers)
    lag = std::max(lag, p.lag_ms);
  return lag;
}

replication_map replication_of(caf::actor_system& sys, const caf::actor& node,
                               const std::vector<cluster::status_row>& rows) {
  replication_map out;
  for (auto& r : rows) {
    if (!answers(r))
      continue;
    auto s = cluster::replication_status_of(cluster::admin_target{sys, node, r.node, std::chrono::milliseconds{1000}});
    if (s)
      out[r.node] = std::move(*s);
  }
  return out;
}

chaos_map chaos_of(caf::actor_system& sys, const caf::actor& node, const std::vector<cluster::status_row>& rows) {
  chaos_map out;
  for (auto& r : rows) {
    if (!answers(r))
      continue;
    auto list = cluster::chaos_list(cluster::admin_target{sys, node, r.node, std::chrono::milliseconds{1000}});
    if (!list)
      continue;
    for (auto& x : *list)
      if (x.state == "active")
        out[r.node].push_back(x);
  }
  return out;
}

std::string seconds_left(int64_t ends_ms, int64_t now_ms) {
  return std::to_string(std::max<int64_t>(0, ends_ms - now_ms) / 1000) + " s";
}

std::string render_chaos(const chaos_map& chaos) {
  auto now_ms =
    std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::string out;
  for (auto& [member, list] : chaos)
    for (auto& x : list)
      out += "chaos on " + member + ": " + x.id + " (" + x.what + "), " + seconds_left(x.ends_ms, now_ms) + " left, "
             + std::to_string(x.injected) + " fault(s)\n";
  return out;
}

std::string render_status(const std::vector<cluster::status_row>& rows, const replication_map& repl) {
  std::vector<std::vector<std::string>> cells{
    {"NODE", "ADDRESS", "STATE", "HEALTH", "MISSED", "LAST HB", "RTT", "LEADER", "SIDE"}};
  if (!repl.empty())
    cells[0].insert(cells[0].end(), {"SESSIONS", "LAG"});
  for (auto& r : rows) {
    std::string last = r.self ? "self" : r.last_heartbeat_ms < 0 ? "never" : std::to_string(r.last_heartbeat_ms) + " ms";
    char rtt[32] = "-";
    if (r.rtt_us >= 0)
      std::snprintf(rtt, sizeof(rtt), "%.2f ms", static_cast<double>(r.rtt_us) / 1000.0);
    cells.push_back({r.node, r.address, r.state, r.health, std::to_string(r.missed), last, rtt,
                     r.leader ? "*" : "", r.side});
    if (repl.empty())
      continue;
    auto i = repl.find(r.node);
    if (i == repl.end()) {
      cells.back().insert(cells.back().end(), {"-", "-"});
      continue;
    }
    cells.back().push_back(std::to_string(i->second.primaries) + "/" + std::to_string(i->second.records));
    cells.back().push_back(std::to_string(max_lag_ms(i->second)) + " ms");
  }
  return render_table(cells);
}

nlohmann::json status_json(const std::vector<cluster::status_row>& rows, const replication_map& repl,
                           const chaos_map& chaos) {
  auto out = nlohmann::json::array();
  for (auto& r : rows) {
    nlohmann::json replication = nullptr;
    if (auto i = repl.find(r.node); i != repl.end()) {
      auto& s = i->second;
      auto peers = nlohmann::json::array();
      for (auto& p : s.peers)
        peers.push_back({{"peer", p.peer}, {"sent", p.sent}, {"acked", p.acked}, {"failed", p.failed},
                         {"pending", p.sent - std::min(p.sent, p.acked)}, {"bytes_sent", p.bytes_sent},
                         {"lag_ms", p.lag_ms}});
      replication = {{"factor", s.factor},         {"consistency", s.consistency}, {"records", s.records},
                     {"primaries", s.primaries},   {"repairing", s.repairing},     {"promotions", s.promotions},
                     {"pending_writes", s.pending_writes}, {"drained", s.drained}, {"lag_ms", max_lag_ms(s)},
                     {"catching_up_from", s.sync_pending}, {"caught_up", s.caught_up},
                     {"tombstones", s.tombstones}, {"refused_stale", s.refused_stale},
                     {"peers", peers}};
    }
    out.push_back({{"node", r.node},
                   {"address", r.address},
                   {"state", r.state},
                   {"health", r.health},
                   {"missed_heartbeats", r.missed},
                   {"last_heartbeat_ms", r.last_heartbeat_ms < 0 ? nlohmann::json(nullptr) : nlohmann::json(r.last_heartbeat_ms)},
                   {"heartbeat_rtt_ms", r.rtt_us < 0 ? nlohmann::json(nullptr)
                                                     : nlohmann::json(static_cast<double>(r.rtt_us) / 1000.0)},
                   {"leader", r.leader},
                   {"side", r.side},
                   {"self", r.self},
                   {"replication", replication},
                   {"chaos", chaos_json(r.node, chaos)}});
  }
  return out;
}

bool key_pressed(std::chrono::milliseconds wait) {
  pollfd p{STDIN_FILENO, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(wait.count())) > 0;
}

int run_status(const status_options& opts) {
  connection_settings conn;
  try {
    conn = resolve_connection(opts.connection);
  } catch (const std::exception& e) {
    std::cerr << "cafmcp status: " << e.what() << '\n';
    return 2;
  }
  caf::actor_system_config cfg;
  actors::register_types(cfg); // chaos experiments
  cluster::register_types(cfg);
  cluster::configure_transport(cfg, conn.tls);
  caf::actor_system sys{cfg};
  auto node = cluster::attach(sys, conn.host, conn.port, conn.cookie, timeout, conn.creds);
  if (!node) {
    std::cerr << "cafmcp status: " << sys.render(node.error()) << '\n';
    std::fflush(nullptr);
    std::_Exit(1); // a connection attempt may linger in the middleman
  }
  int rc = 0;
  for (;;) {
    auto rows = cluster::cluster_status(sys, *node, timeout);
    if (!rows) {
      std::cerr << "cafmcp status: " << sys.render(rows.error()) << '\n';
      rc = 1;
      break;
    }
    if (opts.watch && !opts.json)
      std::cout << "\x1b[2J\x1b[H" << "cafmcp status " << opts.connection.node << " (press Enter to stop)\n";
    auto repl = replication_of(sys, *node, *rows);
    auto chaos = chaos_of(sys, *node, *rows);
    std::cout << (opts.json ? status_json(*rows, repl, chaos).dump(2) + "\n"
                            : render_status(*rows, repl) + render_chaos(chaos));
    if (!opts.json)
      std::cout << (conn.creds.enabled() ? "transport: mutual TLS (we are user " + opts.connection.user + ")\n"
                                         : std::string{"transport: INSECURE — plain BASP, the cookie is the only "
                                                       "credential (cluster.insecure)\n"});
    std::cout << std::flush;
    if (!opts.watch || key_pressed(std::chrono::seconds(1)))
      break;
  }
  std::fflush(nullptr);
  std::_Exit(rc); // see above: never wait on the middleman's background work
}

} // namespace cafmcp::cli
