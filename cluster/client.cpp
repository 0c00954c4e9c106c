// The programmatic cluster API, usable from any thread.
#include "cluster/client.hpp"

#include <stdexcept>

#include <unistd.h>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include "cluster/cookie.hpp"
#include "cluster/errors.hpp"
#include "cluster/handshake.hpp"
#include "cluster/openssl_error_queue.hpp"
#include "cluster/tcp_probe.hpp"
#include "base/crypto.hpp"

namespace cafmcp::cluster {

namespace {

/// request(...).receive(...) with the timeout turned into errc::timeout.
template <class... Ts, class F>
caf::error ask(caf::actor_system& sys, const caf::actor& dest, std::chrono::milliseconds timeout,
               const std::string& what, F on_result, Ts&&... xs) {
  caf::scoped_actor self{sys};
  caf::error err;
  self->request(dest, timeout, std::forward<Ts>(xs)...)
    .receive(on_result, [&](caf::error& e) {
      if (e == caf::sec::request_timeout)
        err = make_error(errc::timeout, what + ": no answer within " + std::to_string(timeout.count()) + " ms");
      else
        err = std::move(e);
    });
  return err;
}

} // namespace

void configure_transport(caf::actor_system_config& cfg, const tls_files& tls) {
  cfg.load<caf::io::middleman>();
  if (tls.enabled()) {
    if (!openssl_error_queue_cleared())
      throw std::runtime_error("cannot find OpenSSL's SSL_read: the TLS workaround is not in place");
    cfg.load<caf::openssl::manager>();
    cfg.set("openssl.certificate", tls.certificate);
    cfg.set("openssl.key", tls.key);
    cfg.set("openssl.cafile", tls.cafile);
  }
}

caf::expected<caf::actor> attach(caf::actor_system& sys, const std::string& host, uint16_t port,
                                 const std::string& cookie, std::chrono::milliseconds timeout,
                                 const credentials& creds) {
  auto where = host + ":" + std::to_string(port);
  if (!tcp_probe(host, port, timeout))
    return make_error(errc::no_node, "nothing answers at " + where);
  auto node = creds.enabled() ? caf::openssl::remote_actor(sys, host, port) : sys.middleman().remote_actor(host, port);
  if (!node)
    return make_error(errc::no_node, "no cafmcp node at " + where + " took our connection: "
                                       + sys.render(node.error())
                                       + (creds.enabled() ? " (TLS: is it a node of our CA, or cluster.insecure?)"
                                                          : " (is the node using TLS? then pass --certs-dir)"));
  auto nonce = crypto::to_hex(crypto::random_bytes(16));
  member_info me;
  me.name = "client-" + std::to_string(::getpid());
  std::string their_nonce;
  std::string server_name; // from its certificate: what our signature names
  std::string refused;
  auto err = ask(
    sys, *node, timeout, "handshake with " + where,
    [&](const std::string& n, const std::string& proof, const credential& cred) {
      if (!crypto::constant_time_equal(proof, cookie_proof(cookie, "server", "", nonce)))
        return;
      std::string why;
      auto server = check_server(creds, cred, nonce, why);
      if (!server)
        refused = "the node at " + where + " did not prove a node certificate of our CA: " + why;
      else {
        their_nonce = n;
        server_name = server->name;
      }
    },
    hello_atom::value, me, nonce);
  if (err)
    return err;
  if (!refused.empty())
    return make_error(errc::bad_certificate, refused);
  if (their_nonce.empty())
    return make_error(errc::wrong_cookie, "the node at " + where + " holds another cluster cookie");
  err = ask(
    sys, *node, timeout, "handshake with " + where, [](const member_info&, const std::vector<member_info>&) {},
    auth_atom::value, me, their_nonce, cookie_proof(cookie, "client", me.name, their_nonce), false,
    present(creds, client_statement(me.name, server_name, their_nonce)));
  if (err)
    return err;
  return *node;
}

caf::expected<std::vector<status_row>> cluster_status(caf::actor_system& sys, const caf::actor& node,
                                                      std::chrono::milliseconds timeout) {
  std::vector<status_row> rows;
  auto err = ask(sys, node, timeout, "cluster_status", [&](std::vector<status_row>& r) { rows = std::move(r); },
                 status_atom::value);
  if (err)
    return err;
  return rows;
}

caf::expected<std::string> get_node_health(caf::actor_system& sys, const caf::actor& node, const std::string& name,
                                           std::chrono::milliseconds timeout) {
  std::string out;
  auto err = ask(sys, node, timeout, "get_node_health(" + name + ")", [&](std::string& h) { out = std::move(h); },
                 health_atom::value, name);
  if (err)
    return err;
  return out;
}

caf::expected<caf::message> distribute_call(caf::actor_system& sys, const caf::actor& node, const std::string& target,
                                            const std::string& actor_name, caf::message msg,
                                            std::chrono::milliseconds timeout) {
  // The answer may be any message, so it is received with a catch-all (a
  // request's response handler needs its types up front).
  caf::scoped_actor self{sys};
  caf::expected<caf::message> out{caf::message{}};
  self->monitor(node); // the attached node may die while we wait
  self->send(node, call_atom::value, target, actor_name, std::move(msg));
  self->receive(
    [&](caf::down_msg& dm) {
      out = make_error(errc::no_node, "the node went away (" + sys.render(dm.reason) + ")");
    },
    caf::others >> [&](caf::message_view& x) -> caf::result<caf::message> {
      auto m = x.copy_content_to_message();
      if (m.match_elements<caf::error>())
        out = m.get_as<caf::error>(0);
      else
        out = std::move(m);
      return caf::message{};
    },
    caf::after(timeout) >> [&] {
      out = make_error(errc::timeout, "distribute_call to " + actor_name + " on " + target + ": no answer within "
                                        + std::to_string(timeout.count()) + " ms");
    });
  self->demonitor(node);
  return out;
}

caf::error connect(caf::actor_system& sys, const caf::actor& node, const std::vector<std::string>& nodes,
                   std::chrono::milliseconds timeout) {
  return ask(sys, node, timeout, "connect", [] {}, join_atom::value, nodes);
}

caf::error leave(caf::actor_system& sys, const caf::actor& node, std::chrono::milliseconds timeout) {
  return ask(sys, node, timeout, "leave", [] {}, leave_atom::value);
}

} // namespace cafmcp::cluster
