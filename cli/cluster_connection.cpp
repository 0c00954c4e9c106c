// How a command-line tool reaches a node: address, cookie and handshake.
#include "cli/cluster_connection.hpp"

#include <stdexcept>

#include "cli/node_config.hpp"
#include "cluster/cookie.hpp"
#include "cluster/host_port.hpp"

namespace cafmcp::cli {

connection_settings resolve_connection(const connection_options& opts) {
  connection_settings out;
  auto where = cluster::parse_host_port(opts.node);
  if (!where)
    throw std::runtime_error("--node must be HOST:PORT (port 1 … 65535), got \"" + opts.node + "\"");
  out.host = where->host;
  out.port = where->port;
  auto cookie_path = opts.cookie_file;
  if (!opts.config_file.empty()) {
    try {
      auto node_cfg = load_node_config(opts.config_file, {});
      if (cookie_path.empty())
        cookie_path = node_cfg.cookie_file;
      out.tls = node_cfg.cluster_tls;
    } catch (const config::config_error& e) {
      throw std::runtime_error(std::string{"bad config: "} + e.what());
    }
  }
  out.cookie = cluster::load_cookie(cookie_path.empty() ? cluster::default_cookie_path() : cookie_path, false);
  return out;
}

} // namespace cafmcp::cli
