#include "cli/status_command.hpp"

#include <iomanip>
#include <iostream>
#include <sstream>

#include <poll.h>
#include <unistd.h>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <nlohmann/json.hpp>

#include "cluster/client.hpp"
#include "cluster/cookie.hpp"
#include "cluster/host_port.hpp"
#include "cluster/messages.hpp"
#include "cli/node_config.hpp"

namespace cafmcp::cli {

namespace {

constexpr auto timeout = std::chrono::seconds(5);

std::string render_table(const std::vector<cluster::status_row>& rows) {
  std::vector<std::vector<std::string>> cells{
    {"NODE", "ADDRESS", "STATE", "HEALTH", "MISSED", "LAST HB", "LEADER", "SIDE"}};
  for (auto& r : rows) {
    std::string last = r.self ? "self" : r.last_heartbeat_ms < 0 ? "never" : std::to_string(r.last_heartbeat_ms) + " ms";
    cells.push_back({r.node, r.address, r.state, r.health, std::to_string(r.missed), last, r.leader ? "*" : "",
                     r.side});
  }
  std::vector<size_t> width(cells[0].size(), 0);
  for (auto& row : cells)
    for (size_t i = 0; i < row.size(); ++i)
      width[i] = std::max(width[i], row[i].size());
  std::ostringstream out;
  for (auto& row : cells) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i)
      line += row[i] + (i + 1 < row.size() ? std::string(width[i] - row[i].size() + 2, ' ') : "");
    while (!line.empty() && line.back() == ' ')
      line.pop_back();
    out << line << '\n';
  }
  return out.str();
}

nlohmann::json to_json(const std::vector<cluster::status_row>& rows) {
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

/// True once stdin has a key (or is closed) within `wait`.
bool key_pressed(std::chrono::milliseconds wait) {
  pollfd p{STDIN_FILENO, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(wait.count())) > 0;
}

} // namespace

int run_status(const status_options& opts) {
  auto where = cluster::parse_host_port(opts.node);
  if (!where) {
    std::cerr << "cafmcp status: --node must be HOST:PORT (port 1 … 65535), got \"" << opts.node << "\"\n";
    return 2;
  }
  auto& [host, port] = *where;
  auto cookie_path = opts.cookie_file;
  cluster::tls_files tls;
  if (!opts.config_file.empty()) {
    try {
      auto node_cfg = load_node_config(opts.config_file, {});
      if (cookie_path.empty())
        cookie_path = node_cfg.cookie_file;
      tls = node_cfg.cluster_tls;
    } catch (const config::config_error& e) {
      std::cerr << "cafmcp status: bad config: " << e.what() << '\n';
      return 2;
    }
  }
  std::string cookie;
  try {
    cookie = cluster::load_cookie(cookie_path.empty() ? cluster::default_cookie_path() : cookie_path, false);
  } catch (const std::exception& e) {
    std::cerr << "cafmcp status: " << e.what() << '\n';
    return 1;
  }
  caf::actor_system_config cfg;
  cluster::register_types(cfg);
  cluster::configure_transport(cfg, tls);
  caf::actor_system sys{cfg};
  auto node = cluster::attach(sys, host, port, cookie, timeout, tls.enabled());
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
      std::cout << "\x1b[2J\x1b[H" << "cafmcp status " << opts.node << " (press Enter to stop)\n";
    std::cout << (opts.json ? to_json(*rows).dump(2) + "\n" : render_table(*rows)) << std::flush;
    if (!opts.watch || key_pressed(std::chrono::seconds(1)))
      break;
  }
  std::fflush(nullptr);
  std::_Exit(rc); // see above: never wait on the middleman's background work
}

} // namespace cafmcp::cli
