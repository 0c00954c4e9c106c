#pragma once
// The handshake, both directions: cookie challenges, certificate proofs and who may be admitted (docs/CLUSTER.md).
//
// Pure: nonces are passed in and the peer's node is an opaque key, so the
// rules can be tested without CAF. The node actor sends and receives.

#include <cstddef>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cluster/credentials.hpp"
#include "cluster/messages.hpp"

namespace cafmcp::cluster {

/// A fresh random nonce (hex).
std::string make_nonce();

/// Who completed a handshake: the certificate's identity (on an insecure
/// node: the name the peer gave, unverified, with the role the cookie
/// grants: node for a member, admin for a client).
struct peer_identity {
  std::string name;
  std::string role; // node, admin or viewer
  std::string subject; // as the audit log writes it
  bool verified = false;
};

// -- connecting side ----------------------------------------------------------------

/// Whether the answer to our hello proves the node holds our cookie.
bool server_proof_ok(const std::string& cookie, const std::string& our_nonce, const std::string& their_proof);

/// Our answer to the node's challenge: proves we hold the cookie as `name`.
std::string client_proof(const std::string& cookie, const std::string& name, const std::string& their_nonce);

/// The answering node's identity from its credential (over our nonce): a
/// node certificate of our CA. Insecure: an unverified "node".
std::optional<peer_identity> check_server(const credentials& own, const credential& theirs,
                                          const std::string& our_nonce, std::string& why);

// -- answering side -------------------------------------------------------------------

/// The answering side. It keeps no state per connecting node: a challenge
/// is a random nonce with its expiry, MACed with a secret of this process
/// and bound to the node that asked, so a flood of hellos (from any number
/// of made-up nodes) grows nothing and pushes no legitimate join out. Each
/// challenge admits one auth; the ones used are remembered until they expire.
class handshake_server {
public:
  static constexpr int64_t challenge_ttl_ms = 30000; // an auth must follow its hello within this

  struct challenge {
    std::string nonce; // ours: the node answers with a proof over it
    std::string proof; // that we hold the cookie, over the node's nonce
    credential cred;   // our certificate, signed over the node's nonce
  };

  enum class verdict { admitted, no_hello, wrong_cookie, bad_certificate };

  struct admission {
    verdict result = verdict::no_hello;
    peer_identity who; // admitted: who it proved to be
    std::string why;   // refused: why
  };

  /// `name` is ours (connecting sides sign it); without credentials the
  /// cookie alone admits (cluster.insecure). `secret` MACs our challenges.
  handshake_server(std::string cookie, std::string name, credentials own, std::string secret)
    : cookie_(std::move(cookie)), name_(std::move(name)), own_(std::move(own)), secret_(std::move(secret)) {}

  /// A hello from `node` with its nonce: our challenge, made from `random`.
  challenge on_hello(const std::string& node, const std::string& their_nonce, const std::string& random,
                     int64_t now_ms) const;

  /// An auth from `node` as `name`: admitted if `nonce` is a challenge we
  /// gave that node, unexpired and unused, the proof over it matches our
  /// cookie, and the credential is a certificate of our CA naming `name`
  /// with role node (`join`) or a client certificate (admin or viewer).
  admission on_auth(const std::string& node, const std::string& name, const std::string& nonce,
                    const std::string& proof, const credential& cred, bool join, int64_t now_ms);

  /// Challenges used and not yet expired.
  size_t used() const { return used_.size(); }

private:
  std::string mac(const std::string& node, const std::string& body) const;

  std::string cookie_;
  std::string name_;
  credentials own_;
  std::string secret_;
  std::map<std::string, int64_t> used_;            // used challenges, until their expiry
  std::deque<std::pair<int64_t, std::string>> expiry_; // the same, oldest first
};

} // namespace cafmcp::cluster
