// The handshake, both directions: cookie challenges, certificate proofs and who may be admitted (docs/CLUSTER.md).
#include "cluster/handshake.hpp"

#include "base/crypto.hpp"
#include "cluster/cookie.hpp"

namespace cafmcp::cluster {

std::string make_nonce() {
  return crypto::to_hex(crypto::random_bytes(16));
}

bool server_proof_ok(const std::string& cookie, const std::string& our_nonce, const std::string& their_proof) {
  return crypto::constant_time_equal(their_proof, cookie_proof(cookie, "server", "", our_nonce));
}

std::string client_proof(const std::string& cookie, const std::string& name, const std::string& their_nonce) {
  return cookie_proof(cookie, "client", name, their_nonce);
}

std::optional<peer_identity> check_server(const credentials& own, const credential& theirs,
                                          const std::string& our_nonce, std::string& why) {
  if (!own.enabled())
    return peer_identity{"", "node", "", false};
  auto id = check(own, theirs, server_statement(our_nonce), why);
  if (!id)
    return std::nullopt;
  if (id->role != "node") {
    why = "its certificate " + subject_of(*id) + " is not a node certificate";
    return std::nullopt;
  }
  return peer_identity{id->name, id->role, subject_of(*id), true};
}

std::string handshake_server::mac(const std::string& node, const std::string& body) const {
  return crypto::to_hex(crypto::hmac_sha256(secret_, node + "\n" + body));
}

handshake_server::challenge handshake_server::on_hello(const std::string& node, const std::string& their_nonce,
                                                       const std::string& random, int64_t now_ms) const {
  auto body = random + "." + std::to_string(now_ms + challenge_ttl_ms);
  return {body + "." + mac(node, body), cookie_proof(cookie_, "server", "", their_nonce),
          present(own_, server_statement(their_nonce))};
}

handshake_server::admission handshake_server::on_auth(const std::string& node, const std::string& name,
                                                      const std::string& nonce, const std::string& proof,
                                                      const credential& cred, bool join, int64_t now_ms) {
  admission out;
  while (!expiry_.empty() && expiry_.front().first <= now_ms) {
    used_.erase(expiry_.front().second);
    expiry_.pop_front();
  }
  // Ours, for this node, unexpired, unused?
  auto dot = nonce.rfind('.');
  auto body = dot == std::string::npos ? std::string{} : nonce.substr(0, dot);
  auto first = body.find('.');
  int64_t expires = 0;
  if (first != std::string::npos) {
    try {
      expires = std::stoll(body.substr(first + 1));
    } catch (const std::exception&) {
      expires = 0;
    }
  }
  if (body.empty() || !crypto::constant_time_equal(nonce.substr(dot + 1), mac(node, body)) || expires <= now_ms
      || used_.count(nonce)) {
    out.why = "no open challenge for that node (send hello first)";
    return out;
  }
  if (!crypto::constant_time_equal(proof, client_proof(cookie_, name, nonce))) {
    out.result = verdict::wrong_cookie;
    out.why = "wrong cluster cookie";
    return out;
  }
  used_.emplace(nonce, expires);
  expiry_.emplace_back(expires, nonce);
  if (own_.enabled()) {
    auto id = check(own_, cred, client_statement(name, name_, nonce), out.why);
    if (id && join && (id->role != "node" || id->name != name)) {
      out.why = "it claims to be member " + name + " but its certificate is " + subject_of(*id);
      id.reset();
    } else if (id && !join && !certs::is_client_role(id->role)) {
      out.why = "its certificate " + subject_of(*id) + " is not a client certificate (role admin or viewer)";
      id.reset();
    }
    if (!id) {
      out.result = verdict::bad_certificate;
      return out;
    }
    out.who = {id->name, id->role, subject_of(*id), true};
  } else {
    // cluster.insecure: the cookie is the only credential, and it grants everything.
    out.who = {name, join ? "node" : "admin", "unverified:" + name, false};
  }
  out.result = verdict::admitted;
  return out;
}

} // namespace cafmcp::cluster
