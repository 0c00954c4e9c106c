// What a node or an operator's tool proves itself with in the handshake: its certificate, key and the cluster's CA.
#include "cluster/credentials.hpp"

namespace cafmcp::cluster {

credentials credentials::load(const tls_files& files) {
  credentials out;
  if (!files.enabled())
    return out;
  out.certificate = certs::read_file(files.certificate);
  out.key = certs::read_file(files.key);
  out.ca = certs::read_file(files.cafile);
  return out;
}

std::string server_statement(const std::string& client_nonce) {
  return "cafmcp handshake: server\n" + client_nonce;
}

std::string client_statement(const std::string& name, const std::string& server_name,
                             const std::string& server_nonce) {
  return "cafmcp handshake: client\n" + name + "\n" + server_name + "\n" + server_nonce;
}

credential present(const credentials& own, const std::string& statement) {
  if (!own.enabled())
    return {};
  return {own.certificate, certs::sign(own.key, statement)};
}

std::optional<certs::identity> check(const credentials& own, const credential& c, const std::string& statement,
                                     std::string& why) {
  if (c.certificate.empty()) {
    why = "no certificate was presented";
    return std::nullopt;
  }
  auto id = certs::verify(c.certificate, own.ca, why);
  if (!id)
    return std::nullopt;
  if (!certs::signature_ok(c.certificate, statement, c.signature)) {
    why = "the signature does not match the certificate " + subject_of(*id) + " (not its key, or another statement)";
    return std::nullopt;
  }
  return id;
}

std::string subject_of(const certs::identity& id) {
  return "CN=" + id.name + ",OU=" + id.role;
}

} // namespace cafmcp::cluster
