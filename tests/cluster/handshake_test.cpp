// The handshake as a pure class: cookie proofs, certificate proofs bound to names, and floods that leave no state.
#include <cstdlib>
#include <filesystem>

#include <doctest/doctest.h>

#include "base/certificate.hpp"
#include "cluster/credentials.hpp"
#include "cluster/handshake.hpp"

using namespace cafmcp;
using namespace cafmcp::cluster;

namespace {

constexpr int64_t t0 = 1'000'000;

/// A CA with nodes n1, n2 and clients alice (admin) and bob (viewer).
struct pki {
  std::string top = make_dir();
  std::string d = top + "/certs";

  static std::string make_dir() {
    char tmpl[] = "/tmp/cafmcp-handshake-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    return tmpl;
  }

  ~pki() { std::filesystem::remove_all(top); }

  pki() {
    certs::create_ca(d);
    for (auto n : {"n1", "n2"})
      certs::create_node(d, certs::ca_key_path(d), n, {"127.0.0.1"});
    certs::create_client(d, certs::ca_key_path(d), "alice", "admin");
    certs::create_client(d, certs::ca_key_path(d), "bob", "viewer");
  }

  credentials node(const std::string& name) const {
    return credentials::load({certs::node_cert_path(d, name), certs::node_key_path(d, name), certs::ca_cert_path(d)});
  }

  credentials client(const std::string& user) const {
    return credentials::load(
      {certs::client_cert_path(d, user), certs::client_key_path(d, user), certs::ca_cert_path(d)});
  }
};

/// A whole handshake of `joiner` (presenting `creds`) with `server`, as member `name`.
handshake_server::admission join(handshake_server& server, const credentials& creds, const std::string& name,
                                 const std::string& server_name = "n1", bool as_member = true) {
  static int challenges = 0; // a fresh random part each time
  auto c = server.on_hello("node-b", "joiner-nonce", "r" + std::to_string(++challenges), t0);
  return server.on_auth("node-b", name, c.nonce, client_proof("secret", name, c.nonce),
                        present(creds, client_statement(name, server_name, c.nonce)), as_member, t0 + 10);
}

} // namespace

TEST_CASE("handshake: a joiner with the right cookie is admitted (insecure: cookie only, role node)") {
  handshake_server server{"secret", "n1", {}, "k"};
  auto c = server.on_hello("node-a", "joiner-nonce", "r1", t0);
  CHECK(server_proof_ok("secret", "joiner-nonce", c.proof));
  auto a = server.on_auth("node-a", "n9", c.nonce, client_proof("secret", "n9", c.nonce), {}, true, t0 + 1);
  REQUIRE(a.result == handshake_server::verdict::admitted);
  CHECK(a.who.role == "node");
  CHECK_FALSE(a.who.verified);
}

TEST_CASE("handshake: a joiner with a wrong cookie is refused") {
  handshake_server server{"secret", "n1", {}, "k"};
  auto c = server.on_hello("node-a", "joiner-nonce", "r1", t0);
  auto a = server.on_auth("node-a", "n9", c.nonce, client_proof("other", "n9", c.nonce), {}, true, t0 + 1);
  CHECK(a.result == handshake_server::verdict::wrong_cookie);
}

TEST_CASE("handshake: a joiner never trusts a node whose proof is over another cookie") {
  handshake_server server{"other", "n1", {}, "k"};
  auto c = server.on_hello("node-a", "joiner-nonce", "r1", t0);
  CHECK_FALSE(server_proof_ok("secret", "joiner-nonce", c.proof));
  CHECK_FALSE(server_proof_ok("other", "another-nonce", c.proof));
}

TEST_CASE("handshake: a challenge we never gave, one for another node, or an expired one admits nothing") {
  handshake_server server{"secret", "n1", {}, "k"};
  auto made_up = "r1." + std::to_string(t0 + 5000) + ".00";
  CHECK(server.on_auth("node-a", "n9", made_up, client_proof("secret", "n9", made_up), {}, true, t0).result
        == handshake_server::verdict::no_hello);
  auto c = server.on_hello("node-a", "joiner-nonce", "r1", t0);
  CHECK(server.on_auth("node-b", "n9", c.nonce, client_proof("secret", "n9", c.nonce), {}, true, t0).result
        == handshake_server::verdict::no_hello);
  CHECK(server.on_auth("node-a", "n9", c.nonce, client_proof("secret", "n9", c.nonce), {}, true,
                       t0 + handshake_server::challenge_ttl_ms)
          .result
        == handshake_server::verdict::no_hello);
  handshake_server restarted{"secret", "n1", {}, "another key"}; // a challenge of an earlier incarnation
  CHECK(restarted.on_auth("node-a", "n9", c.nonce, client_proof("secret", "n9", c.nonce), {}, true, t0).result
        == handshake_server::verdict::no_hello);
}

TEST_CASE("handshake: each challenge admits one auth only, and only for the name it was proven for") {
  handshake_server server{"secret", "n1", {}, "k"};
  auto c = server.on_hello("node-a", "joiner-nonce", "r1", t0);
  CHECK(server.on_auth("node-a", "n8", c.nonce, client_proof("secret", "n9", c.nonce), {}, true, t0).result
        == handshake_server::verdict::wrong_cookie);
  auto proof = client_proof("secret", "n9", c.nonce);
  CHECK(server.on_auth("node-a", "n9", c.nonce, proof, {}, true, t0).result == handshake_server::verdict::admitted);
  CHECK(server.on_auth("node-a", "n9", c.nonce, proof, {}, true, t0).result != handshake_server::verdict::admitted);
  CHECK(server.used() == 1);
  server.on_hello("node-a", "x", "r2", t0 + handshake_server::challenge_ttl_ms + 1);
  server.on_auth("node-a", "n9", "junk", "junk", {}, true, t0 + handshake_server::challenge_ttl_ms + 1);
  CHECK(server.used() == 0); // forgotten once expired
}

TEST_CASE("handshake: a flood of hellos keeps no state and does not push out a legitimate join") {
  handshake_server server{"secret", "n1", {}, "k"};
  auto legit = server.on_hello("node-a", "joiner-nonce", "r-legit", t0);
  for (int i = 0; i < 100000; ++i)
    server.on_hello("flood-" + std::to_string(i), "x", "r" + std::to_string(i), t0);
  CHECK(server.used() == 0);
  CHECK(server.on_auth("node-a", "n9", legit.nonce, client_proof("secret", "n9", legit.nonce), {}, true, t0 + 5)
          .result
        == handshake_server::verdict::admitted);
}

TEST_CASE("handshake: a member proves its certificate, and its name is the certificate's") {
  pki p;
  handshake_server server{"secret", "n1", p.node("n1"), "k"};
  auto a = join(server, p.node("n2"), "n2");
  REQUIRE(a.result == handshake_server::verdict::admitted);
  CHECK(a.who.verified);
  CHECK(a.who.name == "n2");
  CHECK(a.who.subject == "CN=n2,OU=node");
}

TEST_CASE("handshake: a member presenting another member's name is refused") {
  pki p;
  handshake_server server{"secret", "n1", p.node("n1"), "k"};
  auto a = join(server, p.node("n2"), "n3");
  CHECK(a.result == handshake_server::verdict::bad_certificate);
  CHECK(a.why.find("CN=n2,OU=node") != std::string::npos);
}

TEST_CASE("handshake: a certificate of another CA is refused") {
  pki p;
  pki other;
  handshake_server server{"secret", "n1", p.node("n1"), "k"};
  auto a = join(server, other.node("n2"), "n2");
  CHECK(a.result == handshake_server::verdict::bad_certificate);
}

TEST_CASE("handshake: no certificate, or a signature made for another node, is refused") {
  pki p;
  handshake_server server{"secret", "n1", p.node("n1"), "k"};
  CHECK(join(server, {}, "n2").result == handshake_server::verdict::bad_certificate);
  // Signed for n2's challenge (a relay through another member): not for us.
  CHECK(join(server, p.node("n2"), "n2", "n2").result == handshake_server::verdict::bad_certificate);
}

TEST_CASE("handshake: clients join with their role - a client certificate cannot join as a member") {
  pki p;
  handshake_server server{"secret", "n1", p.node("n1"), "k"};
  auto alice = join(server, p.client("alice"), "client-1", "n1", false);
  REQUIRE(alice.result == handshake_server::verdict::admitted);
  CHECK(alice.who.role == "admin");
  CHECK(alice.who.subject == "CN=alice,OU=admin");
  auto bob = join(server, p.client("bob"), "client-2", "n1", false);
  REQUIRE(bob.result == handshake_server::verdict::admitted);
  CHECK(bob.who.role == "viewer");
  CHECK(join(server, p.client("alice"), "alice", "n1", true).result == handshake_server::verdict::bad_certificate);
  CHECK(join(server, p.node("n2"), "client-3", "n1", false).result == handshake_server::verdict::bad_certificate);
}

TEST_CASE("handshake: the connecting side accepts only a node certificate of its CA signed over its nonce") {
  pki p;
  pki other;
  handshake_server server{"secret", "n1", p.node("n1"), "k"};
  auto c = server.on_hello("node-b", "joiner-nonce", "r1", t0);
  std::string why;
  auto id = check_server(p.node("n2"), c.cred, "joiner-nonce", why);
  REQUIRE(id);
  CHECK(id->name == "n1");
  CHECK_FALSE(check_server(p.node("n2"), c.cred, "another-nonce", why));
  CHECK_FALSE(check_server(other.node("n2"), c.cred, "joiner-nonce", why));
  handshake_server impostor{"secret", "n1", p.client("alice"), "k"};
  CHECK_FALSE(check_server(p.node("n2"), impostor.on_hello("node-b", "joiner-nonce", "r1", t0).cred, "joiner-nonce", why));
}
