#pragma once
// The cookie handshake, both directions: challenges, proofs and who may be admitted (docs/CLUSTER.md).
//
// Pure: nonces are passed in and the peer's node is an opaque key, so the
// rules can be tested without CAF. The node actor sends and receives.

#include <cstddef>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "cluster/messages.hpp"

namespace cafmcp::cluster {

/// A fresh random nonce (hex).
std::string make_nonce();

// -- connecting side ----------------------------------------------------------------

/// Whether the answer to our hello proves the node holds our cookie.
bool server_proof_ok(const std::string& cookie, const std::string& our_nonce, const std::string& their_proof);

/// Our answer to the node's challenge: proves we hold the cookie as `name`.
std::string client_proof(const std::string& cookie, const std::string& name, const std::string& their_nonce);

// -- answering side -------------------------------------------------------------------

/// The challenges this node has sent, per connecting node, bounded: whoever
/// connects without finishing the handshake (or without the cookie) cannot
/// grow them without end.
class handshake_server {
public:
  static constexpr size_t max_pending = 1024; // nodes between hello and auth
  static constexpr size_t max_per_node = 8;   // a node gets a few handshakes in flight

  struct challenge {
    std::string nonce; // ours: the node answers with a proof over it
    std::string proof; // that we hold the cookie, over the node's nonce
  };

  enum class verdict { admitted, no_hello, wrong_cookie };

  struct admission {
    verdict result = verdict::no_hello;
    member_info hello; // who said hello from that node (empty name: nobody)
  };

  explicit handshake_server(std::string cookie) : cookie_(std::move(cookie)) {}

  /// A hello from `node` (as `from`, with its nonce): our challenge, made
  /// with `our_nonce`.
  challenge on_hello(const std::string& node, const member_info& from, const std::string& their_nonce,
                     const std::string& our_nonce);

  /// An auth from `node`: admitted if the proof matches one of our open
  /// challenges to it (each is used once). The node's hello is handed back
  /// and forgotten once admitted.
  admission on_auth(const std::string& node, const std::string& name, const std::string& proof);

  size_t pending() const { return nonces_.size(); }

private:
  std::string cookie_;
  std::map<std::string, std::vector<std::string>> nonces_; // our open challenges, per node
  std::map<std::string, member_info> hellos_;              // who said hello from that node
  std::deque<std::string> order_;                          // to bound both maps (oldest first)
};

} // namespace cafmcp::cluster
