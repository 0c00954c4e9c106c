// The cookie handshake, both directions: challenges, proofs and who may be admitted (docs/CLUSTER.md).
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

handshake_server::challenge handshake_server::on_hello(const std::string& node, const member_info& from,
                                                       const std::string& their_nonce,
                                                       const std::string& our_nonce) {
  if (!nonces_.count(node)) {
    order_.push_back(node);
    while (order_.size() > max_pending) {
      nonces_.erase(order_.front());
      hellos_.erase(order_.front());
      order_.pop_front();
    }
  }
  auto& open = nonces_[node];
  if (open.size() >= max_per_node)
    open.erase(open.begin());
  open.push_back(our_nonce);
  hellos_[node] = from;
  return {our_nonce, cookie_proof(cookie_, "server", "", their_nonce)};
}

handshake_server::admission handshake_server::on_auth(const std::string& node, const std::string& name,
                                                      const std::string& proof) {
  admission out;
  auto i = nonces_.find(node);
  if (i == nonces_.end() || i->second.empty())
    return out; // no hello first
  bool matched = false;
  for (auto n = i->second.begin(); n != i->second.end(); ++n)
    if (crypto::constant_time_equal(proof, client_proof(cookie_, name, *n))) {
      i->second.erase(n);
      matched = true;
      break;
    }
  if (i->second.empty())
    nonces_.erase(i);
  if (!matched) {
    out.result = verdict::wrong_cookie;
    return out;
  }
  out.result = verdict::admitted;
  if (auto h = hellos_.find(node); h != hellos_.end()) {
    out.hello = h->second;
    hellos_.erase(h);
  }
  return out;
}

} // namespace cafmcp::cluster
