#pragma once
// What a node or an operator's tool proves itself with in the handshake: its certificate, key and the cluster's CA.
//
// TLS (caf_openssl) keeps out whoever has no certificate from our CA, but
// CAF 0.17 does not tell an actor which certificate a connection presented.
// So each side also signs a statement naming this handshake step (the
// peer's fresh nonce, and for the connecting side the name it claims and
// the name of the node it talks to) and sends its certificate with it: the
// receiver checks the chain, the subject and the signature, and binds the
// subject to the peer's node. A member cannot claim another's name, and a
// signature made for one node cannot be replayed to another.

#include <optional>
#include <string>

#include "base/certificate.hpp"
#include "cluster/messages.hpp"

namespace cafmcp::cluster {

/// Where the PEM files are (all empty: plain BASP, cookie only).
struct tls_files {
  std::string certificate;
  std::string key;
  std::string cafile;
  bool enabled() const { return !certificate.empty(); }
};

/// The files' contents. Empty (insecure) when the files are.
struct credentials {
  std::string certificate;
  std::string key;
  std::string ca;
  bool enabled() const { return !certificate.empty(); }

  /// Reads the files; throws certs::cert_error naming a file that cannot be read.
  static credentials load(const tls_files& files);
};

/// What the answering node signs: the connecting side's nonce.
std::string server_statement(const std::string& client_nonce);

/// What the connecting side signs: who it claims to be, whom it talks to and
/// that node's nonce.
std::string client_statement(const std::string& name, const std::string& server_name,
                             const std::string& server_nonce);

/// Our certificate and our signature over `statement` (empty if insecure).
credential present(const credentials& own, const std::string& statement);

/// Who `c` proves to be: its certificate chains to our CA, is valid now and
/// its key signed `statement`. Otherwise nothing, and `why` says what failed.
std::optional<certs::identity> check(const credentials& own, const credential& c, const std::string& statement,
                                     std::string& why);

/// The subject as the audit log writes it: "CN=alice,OU=admin".
std::string subject_of(const certs::identity& id);

} // namespace cafmcp::cluster
