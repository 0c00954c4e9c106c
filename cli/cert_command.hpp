#pragma once

// `cafmcp cert`: creates the cluster's CA, node and client certificates in a
// certificates directory (base/certificate) and lists them.

#include <string>
#include <utility>
#include <vector>

#include "base/certificate.hpp"

namespace cafmcp::cli {

struct cert_options {
  std::string certs_dir;          // "": certs::default_certs_dir()
  std::string ca_key;             // "": DIR/ca.key
  std::string name;               // the node's name or the client's user
  std::vector<std::string> hosts; // create-node; none: 127.0.0.1 and localhost
  std::string role = "viewer";    // create-client; the least power unless asked
};

/// 0: written (the paths on stdout); 1: failed (`cafmcp cert: …` on stderr).
int run_cert_create_ca(const cert_options& opts);
int run_cert_create_node(const cert_options& opts);
int run_cert_create_client(const cert_options& opts);

/// 0: the table printed; 1: the directory or a certificate cannot be read.
int run_cert_list(const cert_options& opts);

/// The `cert list` table: FILE, KIND (ca, node, client), NAME, ROLE, EXPIRES
/// (UTC date), FINGERPRINT (the first 16 hex digits of the SHA-256).
std::string render_cert_list(const std::vector<std::pair<std::string, certs::identity>>& certs);

} // namespace cafmcp::cli
