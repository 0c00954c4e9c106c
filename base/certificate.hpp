#pragma once
// X.509 certificates for the cluster: a CA, node and client certificates (ECDSA P-256), and the checks a handshake makes.
//
// A certificates directory holds, with the names `cockroach cert` uses:
//   ca.crt, ca.key                  the cluster's CA (ca.key belongs on no node)
//   node.NAME.crt, node.NAME.key    a member: subject CN=NAME, OU=node
//   client.USER.crt, client.USER.key  an operator: CN=USER, OU=admin|viewer
// Key files are written 0600, the directory 0700. Every function that reads
// or writes a file throws cert_error naming the file and why.

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace cafmcp::certs {

struct cert_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Who a certificate names.
struct identity {
  std::string name;        // subject CN
  std::string role;        // subject OU: "node", "admin" or "viewer"
  std::string fingerprint; // SHA-256 of the certificate's DER, hex
  int64_t not_after = 0;   // unix seconds
};

/// Whether `role` is one a client certificate may carry.
bool is_client_role(const std::string& role);

/// $HOME/.cafmcp/certs: where the `cafmcp cert` commands and a node look
/// when no directory is given.
std::string default_certs_dir();

std::string ca_cert_path(const std::string& dir);
std::string ca_key_path(const std::string& dir);
std::string node_cert_path(const std::string& dir, const std::string& name);
std::string node_key_path(const std::string& dir, const std::string& name);
std::string client_cert_path(const std::string& dir, const std::string& user);
std::string client_key_path(const std::string& dir, const std::string& user);

/// A new CA in `dir` (created 0700 if missing): ca.crt and ca.key. Refuses
/// to replace an existing ca.crt or ca.key.
void create_ca(const std::string& dir, int days = 3650);

/// A node certificate for `name` in `dir`, signed with the CA key at
/// `ca_key` (ca.crt is read from `dir`); `hosts` (IP addresses or DNS names)
/// become its subjectAltName. Replaces an older one of the same name.
void create_node(const std::string& dir, const std::string& ca_key, const std::string& name,
                 const std::vector<std::string>& hosts, int days = 365);

/// A client certificate for `user` with `role` (admin or viewer).
void create_client(const std::string& dir, const std::string& ca_key, const std::string& user,
                   const std::string& role, int days = 365);

/// Every certificate (*.crt) in `dir`, by file name, with who it names.
std::vector<std::pair<std::string, identity>> list(const std::string& dir);

/// A whole file (PEM text).
std::string read_file(const std::string& path);

/// `cert_pem`'s identity if it is signed by a CA in `ca_pem` and valid now;
/// otherwise nothing, and `why` says what failed.
std::optional<identity> verify(const std::string& cert_pem, const std::string& ca_pem, std::string& why);

/// The ECDSA-SHA256 signature (hex) of `data` with the PEM private key.
std::string sign(const std::string& key_pem, const std::string& data);

/// Whether `signature` (hex) is `data` signed by `cert_pem`'s key.
bool signature_ok(const std::string& cert_pem, const std::string& data, const std::string& signature);

/// Whether `key_pem` is the private key of `cert_pem`.
bool key_matches(const std::string& cert_pem, const std::string& key_pem);

} // namespace cafmcp::certs
