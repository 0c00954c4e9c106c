// How a command-line tool reaches a node: address, cookie and handshake.
#include "cli/cluster_connection.hpp"

#include <stdexcept>

#include <unistd.h>

#include "base/certificate.hpp"
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
  auto certs_dir = opts.certs_dir;
  bool insecure = opts.insecure;
  if (!opts.config_file.empty()) {
    try {
      node_overrides as_member; // the config of a node we reach on its cluster port
      as_member.cluster_port = where->port;
      auto node_cfg = load_node_config(opts.config_file, as_member);
      if (cookie_path.empty())
        cookie_path = node_cfg.cookie_file;
      if (certs_dir.empty())
        certs_dir = node_cfg.certs_dir;
      insecure = insecure || node_cfg.cluster_insecure;
    } catch (const config::config_error& e) {
      throw std::runtime_error(std::string{"bad config: "} + e.what());
    }
  }
  if (!insecure) {
    if (certs_dir.empty())
      certs_dir = certs::default_certs_dir();
    out.tls = {certs::client_cert_path(certs_dir, opts.user), certs::client_key_path(certs_dir, opts.user),
               certs::ca_cert_path(certs_dir)};
    for (auto& f : {out.tls.certificate, out.tls.key, out.tls.cafile})
      if (::access(f.c_str(), R_OK) != 0)
        throw std::runtime_error("cannot read " + f + " (client certificate of user " + opts.user
                                 + "): make one with `cafmcp cert create-client " + opts.user
                                 + " --role admin --certs-dir " + certs_dir
                                 + "`, pick another with --user or --certs-dir, or pass --insecure for a node with "
                                   "cluster.insecure");
    try {
      out.creds = cluster::credentials::load(out.tls);
    } catch (const certs::cert_error& e) {
      throw std::runtime_error(e.what());
    }
  }
  out.cookie = cluster::load_cookie(cookie_path.empty() ? cluster::default_cookie_path() : cookie_path, false);
  return out;
}

} // namespace cafmcp::cli
