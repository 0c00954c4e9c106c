#include "cli/status_command.hpp"

#include <iostream>

#include <poll.h>
#include <unistd.h>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <nlohmann/json.hpp>

#include "cluster/client.hpp"
#include "cluster/messages.hpp"
#include "cli/cluster_connection.hpp"
#include "cli/text_table.hpp"

namespace cafmcp::cli {

namespace {

constexpr auto timeout = std::chrono::seconds(5);

} // namespace

std::string render_status(const std::vector<cluster::status_row>& rows) {
  std::vector<std::vector<std::string>> cells{
    {"NODE", "ADDRESS", "STATE", "HEALTH", "MISSED", "LAST HB", "LEADER", "SIDE"}};
  for (auto& r : rows) {
    std::string last = r.self ? "self" : r.last_heartbeat_ms < 0 ? "never" : std::to_string(r.last_heartbeat_ms) + " ms";
    cells.push_back({r.node, r.address, r.state, r.health, std::to_string(r.missed), last, r.leader ? "*" : "",
                     r.side});
  }
  return render_table(cells);
}

nlohmann::json status_json(const std::vector<cluster::status_row>& rows) {
  auto out = nlohmann::json::array();
  for (auto& r : rows)
    out.push_back({{"node", r.node},
                   {"address", r.address},
                   {"state", r.state},
                   {"health", r.health},
                   {"missed_heartbeats", r.missed},
                   {"last_heartbeat_ms", r.last_heartbeat_ms < 0 ? nlohmann::json(nullptr) : nlohmann::json(r.last_heartbeat_ms)},
                   {"leader", r.leader},
                   {"side", r.side},
                   {"self", r.self}});
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
  cluster::register_types(cfg);
  cluster::configure_transport(cfg, conn.tls);
  caf::actor_system sys{cfg};
  auto node = cluster::attach(sys, conn.host, conn.port, conn.cookie, timeout, conn.tls.enabled());
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
    std::cout << (opts.json ? status_json(*rows).dump(2) + "\n" : render_status(*rows)) << std::flush;
    if (!opts.watch || key_pressed(std::chrono::seconds(1)))
      break;
  }
  std::fflush(nullptr);
  std::_Exit(rc); // see above: never wait on the middleman's background work
}

} // namespace cafmcp::cli
