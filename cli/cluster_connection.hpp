#pragma once

// How a command-line tool (status, shell) reaches a node: the HOST:PORT of
// its cluster port, the cookie (a file, or the one a node config names) and
// a client certificate (client.USER.crt in the certificates directory) for
// mutual TLS, unless --insecure.

#include <cstdint>
#include <string>

#include "cluster/client.hpp"

namespace cafmcp::cli {

struct connection_options {
  std::string node = "127.0.0.1:4370"; // the node's cluster port
  std::string cookie_file;             // "": the config's, else $HOME/.cafmcp.cookie
  std::string config_file;             // a node config: its cookie file, certs_dir and insecure setting
  std::string certs_dir;               // "": the config's, else $HOME/.cafmcp/certs
  std::string user = "admin";          // client.USER.crt: who we are to the node
  bool insecure = false;               // plain BASP (a node with cluster.insecure)
};

struct connection_settings {
  std::string host;
  uint16_t port = 0;
  std::string cookie;
  cluster::tls_files tls;     // empty: insecure
  cluster::credentials creds; // what the handshake proves (the same files)
};

/// Resolves the options; throws std::runtime_error with a message for the
/// operator (bad HOST:PORT, bad config, unreadable cookie).
connection_settings resolve_connection(const connection_options& opts);

} // namespace cafmcp::cli
