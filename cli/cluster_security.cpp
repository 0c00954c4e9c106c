// Mutual TLS between nodes by default: which files a node uses, and the checks before it starts (docs/SECURITY.md).
#include <arpa/inet.h>
#include <unistd.h>

#include "base/certificate.hpp"
#include "cli/node_config.hpp"

namespace cafmcp::cli {

namespace {

using config::config_error;

bool is_loopback(const std::string& host) {
  if (host == "localhost")
    return true;
  in_addr v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1)
    return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return ::inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

} // namespace

void resolve_cluster_security(node_config& cfg) {
  if (!cfg.cluster.enabled)
    return;
  if (cfg.cluster_insecure) {
    if (!is_loopback(cfg.cluster.host))
      throw config_error("cluster.insecure",
                         "is allowed with a loopback cluster.host only (127.0.0.0/8, ::1, localhost), not \""
                           + cfg.cluster.host
                           + "\": anyone who can reach that address could join with the cookie alone. Give the node "
                             "certificates instead (cafmcp cert, docs/SECURITY.md)");
    cfg.cluster_tls = {};
    cfg.cluster.tls = false;
    cfg.cluster.creds = {};
    return;
  }
  auto dir = cfg.certs_dir.empty() ? certs::default_certs_dir() : cfg.certs_dir;
  auto& tls = cfg.cluster_tls;
  if (tls.certificate.empty())
    tls.certificate = certs::node_cert_path(dir, cfg.name);
  if (tls.key.empty())
    tls.key = certs::node_key_path(dir, cfg.name);
  if (tls.cafile.empty())
    tls.cafile = certs::ca_cert_path(dir);
  auto fix = "make them with `cafmcp cert create-ca --certs-dir " + dir + "` and `cafmcp cert create-node " + cfg.name
             + " --host " + cfg.cluster.host + " --certs-dir " + dir
             + "`, point cluster.certs_dir or cluster.tls.* at yours, or (loopback addresses only) set "
               "cluster.insecure: true";
  for (auto [key, path] : {std::pair{"cluster.tls.certificate", tls.certificate}, std::pair{"cluster.tls.key", tls.key},
                           std::pair{"cluster.tls.cafile", tls.cafile}})
    if (::access(path.c_str(), R_OK) != 0)
      throw config_error(key, "cannot read " + path + ": a cluster node needs its certificate, key and CA; " + fix);
  try {
    cfg.cluster.creds = cluster::credentials::load(tls);
  } catch (const certs::cert_error& e) {
    throw config_error("cluster.tls", e.what());
  }
  auto& creds = cfg.cluster.creds;
  std::string why;
  auto id = certs::verify(creds.certificate, creds.ca, why);
  if (!id)
    throw config_error("cluster.tls.certificate", tls.certificate + " does not chain to " + tls.cafile + ": " + why);
  if (id->role != "node" || id->name != cfg.name)
    throw config_error("cluster.tls.certificate", tls.certificate + " is the certificate of " + cluster::subject_of(*id)
                                                    + ", but this node is " + cfg.name
                                                    + " (a member's name must be its certificate's: CN=" + cfg.name
                                                    + ",OU=node)");
  if (!certs::key_matches(creds.certificate, creds.key))
    throw config_error("cluster.tls.key", tls.key + " is not the key of " + tls.certificate);
  cfg.cluster.tls = true;
}

} // namespace cafmcp::cli
