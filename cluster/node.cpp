// The cluster node actor: translates CAF messages to and from membership, the handshake and relays.
#include "cluster/node.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <set>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include "actors/core_sup.hpp"
#include "base/audit_log.hpp"
#include "base/crypto.hpp"
#include "base/log.hpp"
#include "cluster/call_policy.hpp"
#include "cluster/connector.hpp"
#include "cluster/errors.hpp"
#include "cluster/handshake.hpp"
#include "cluster/host_port.hpp"
#include "cluster/membership.hpp"
#include "cluster/messages.hpp"
#include "cluster/relay.hpp"
#include "supervision/admin.hpp"

namespace cafmcp::cluster {

namespace {

using clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

uint64_t wall_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<milliseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count());
}

moment right_now() {
  return moment{clock::now(), wall_ms()};
}

std::string address(const std::string& host, uint16_t port) {
  return host + ":" + std::to_string(port);
}

struct node_state {
  cluster_config cfg;
  std::shared_ptr<cluster_view> view;
  std::shared_ptr<actors::name_table> names;
  std::string path;
  std::optional<membership> members;            // the rules: this node's view of the cluster
  credentials creds;                           // our certificate (empty: cluster.insecure)
  std::optional<handshake_server> greeter;      // challenges we sent to connecting nodes
  std::map<std::string, caf::actor> handles;    // members' node actors we hold a connection to, by name
  std::map<caf::node_id, peer_identity> peers;  // members' nodes that may talk to us, and who they proved to be
  std::deque<std::pair<caf::node_id, peer_identity>> clients; // operators' tools that may, oldest first
  std::vector<caf::response_promise> leaving;   // graceful leave requests to answer
  std::map<uint64_t, caf::response_promise> relayed; // calls waiting on a relay, by relay number
  std::map<uint64_t, std::string> relayed_to;         // the member of a relay to another member (its breaker)
  struct parked_call {
    caf::response_promise rp;
    caf::message call; // (call_atom, node, name, msg, caller)
    std::string what;
    clock::time_point until;
  };
  std::multimap<std::string, parked_call> parked; // calls for a member that is reconnecting, by member
  uint64_t next_relay = 0;
  struct held_call { // a member's call a chaos experiment delays
    caf::response_promise rp;
    peer_identity who;
    std::string node, name;
    caf::message msg;
    std::optional<caller> vouched;
  };
  std::map<uint64_t, held_call> held;
  uint64_t next_held = 0;
};

using left_atom = caf::atom_constant<caf::atom("cl_left")>;
using release_atom = caf::atom_constant<caf::atom("cl_release")>;

constexpr size_t max_clients = 1024; // authenticated clients remembered

using node_actor = caf::stateful_actor<node_state>;

/// Logs what membership decided and tells the rest of the node whether it
/// is fenced.
void publish(node_actor* self) {
  auto& st = self->state;
  for (auto& e : st.members->take_events()) {
    if (e.kind == membership_event::warning)
      log::warning(st.path, e.text);
    else if (e.kind == membership_event::fenced)
      st.view->set_fenced(true, e.text);
    else if (e.kind == membership_event::unfenced)
      st.view->set_fenced(false);
    if (e.kind == membership_event::info || e.kind == membership_event::unfenced)
      log::info(st.path, e.text);
  }
}

void send_heartbeat(node_actor* self, const heartbeat& hb) {
  for (auto& [name, handle] : self->state.handles)
    self->send(handle, heartbeat_atom::value, hb);
}

/// Now holding `handle` to member `name`'s node actor.
void relay_to(node_actor* self, caf::response_promise rp, caf::actor target, caf::message msg, std::string what);

/// Now holding `handle` to member `name`'s node actor (calls parked for it go out).
void attach(node_actor* self, const std::string& name, caf::actor handle) {
  auto& st = self->state;
  st.handles[name] = handle;
  st.members->set_connected(name, true);
  self->monitor(handle);
  auto [from, to] = st.parked.equal_range(name);
  for (auto i = from; i != to; ++i)
    relay_to(self, std::move(i->second.rp), handle, std::move(i->second.call), std::move(i->second.what));
  st.parked.erase(from, to);
}

/// Calls parked for a member that did not come back in time fail.
void expire_parked(node_actor* self, clock::time_point now) {
  auto& st = self->state;
  for (auto i = st.parked.begin(); i != st.parked.end();) {
    if (i->second.until > now) {
      ++i;
      continue;
    }
    i->second.rp.deliver(make_error(errc::unreachable, i->first + " is not connected"));
    i = st.parked.erase(i);
  }
}

// -- connecting --------------------------------------------------------------------

void connect_to(node_actor* self, const std::string& host, uint16_t port) {
  auto probe = std::min(milliseconds{1000}, std::max(milliseconds{100}, self->state.cfg.heartbeat));
  self->spawn<caf::detached>(connector, caf::actor_cast<caf::actor>(self), host, port, probe, self->state.cfg.tls);
}

// -- the handshake (outbound) ---------------------------------------------------

/// A member's node proved who it is: it may talk to us, and the replicator
/// takes its messages.
void trust(node_actor* self, const caf::node_id& node, peer_identity who) {
  auto& st = self->state;
  st.peers[node] = std::move(who);
  std::set<caf::node_id> nodes;
  for (auto& p : st.peers)
    nodes.insert(p.first);
  st.view->set_member_nodes(std::move(nodes));
}

void handshake(node_actor* self, caf::actor handle, const std::string& host, uint16_t port) {
  auto nonce = make_nonce();
  auto timeout = std::max(milliseconds{2000}, 3 * self->state.cfg.heartbeat);
  auto where = address(host, port);
  self->request(handle, timeout, hello_atom::value, self->state.members->me(), nonce)
    .then(
      [=](const std::string& their_nonce, const std::string& their_proof, const credential& their_cred) {
        auto& st = self->state;
        if (!server_proof_ok(st.cfg.cookie, nonce, their_proof)) {
          log::error(st.path, "the node at " + where + " does not hold our cluster cookie; not joining it");
          return;
        }
        std::string why;
        auto server = check_server(st.creds, their_cred, nonce, why);
        if (!server) {
          log::error(st.path, "the node at " + where + " did not prove a node certificate of our CA (" + why
                                + "); not joining it");
          return;
        }
        auto& me = st.members->me();
        auto proof = client_proof(st.cfg.cookie, me.name, their_nonce);
        auto cred = present(st.creds, client_statement(me.name, server->name, their_nonce));
        self->request(handle, timeout, auth_atom::value, me, their_nonce, proof, true, cred)
          .then(
            [=](const member_info& them, const std::vector<member_info>& members) {
              auto& st = self->state;
              if (server->verified && them.name != server->name) {
                log::error(st.path, "the node at " + where + " calls itself " + them.name + " but its certificate is "
                                      + server->subject + "; not joining it");
                return;
              }
              // It proved the cookie (and its certificate): it may talk to us over this connection.
              auto who = *server;
              who.name = them.name;
              trust(self, handle.node(), who);
              st.members->merge(members, them.name, right_now());
              st.members->learn(them, clock::now());
              publish(self);
              if (auto h = st.handles.find(them.name); h != st.handles.end() && h->second != handle)
                return; // connected twice (seed and member); keep the first
              attach(self, them.name, handle);
              log::info(st.path, "connected to " + them.name + " at " + where);
            },
            [=](caf::error& err) {
              log::error(self->state.path, "joining through " + where + " was refused: " + self->system().render(err)
                                             + (is(err, errc::wrong_cookie) ? " — check the cluster cookie" : ""));
            });
      },
      [=](caf::error& err) {
        log::warning(self->state.path, "handshake with " + where + " failed: " + self->system().render(err));
      });
}

// -- each heartbeat interval ------------------------------------------------------

void tick(node_actor* self) {
  auto& st = self->state;
  auto t = right_now();
  auto out = st.members->tick(t);
  expire_parked(self, t.now);
  for (auto& hp : out.dial)
    connect_to(self, hp.host, hp.port);
  publish(self);
  send_heartbeat(self, out.beat);
  st.view->set_rows(st.members->status_rows(t.now));
  self->delayed_send(self, st.cfg.heartbeat, tick_atom::value);
}

/// Who sent the current message: this node's own actors (role node), a
/// member that completed the handshake, or an operator's tool; nothing for
/// anyone else.
std::optional<peer_identity> sender_identity(node_actor* self) {
  auto sender = self->current_sender();
  if (!sender)
    return std::nullopt;
  auto& st = self->state;
  auto n = sender->node();
  if (n == self->system().node())
    return peer_identity{st.cfg.name, "node", "node:" + st.cfg.name, true};
  if (auto p = st.peers.find(n); p != st.peers.end())
    return p->second;
  for (auto& c : st.clients)
    if (c.first == n)
      return c.second;
  return std::nullopt;
}

/// Whether a member (or this node) sent the current message.
bool from_member(node_actor* self) {
  auto who = sender_identity(self);
  return who && who->role == "node";
}

/// Whether anyone authenticated sent it (members, and operators' tools of any role).
bool authed(node_actor* self) {
  return sender_identity(self).has_value();
}

/// Appends an audit record through the admin actor (fdatasync'ed), then
/// calls `k` with the error if it could not be written.
void audit_first(node_actor* self, audit::audit_record rec, std::function<void(caf::error)> k) {
  auto admin = self->state.names->lookup("admin");
  if (!admin)
    return k(make_error(errc::audit_failed, "the admin actor (which keeps the audit log) is not running"));
  self->request(admin, std::chrono::seconds(10), supervision::admin_record_atom::value, std::move(rec))
    .then([k]() { k(caf::error{}); },
          [self, k](caf::error& err) {
            k(make_error(errc::audit_failed, "the audit log cannot be written: " + self->system().render(err)));
          });
}

/// Sends `msg` to `target` through a relay; its answer goes to `rp`.
void relay_to(node_actor* self, caf::response_promise rp, caf::actor target, caf::message msg, std::string what) {
  auto& st = self->state;
  auto number = st.next_relay++;
  st.relayed.emplace(number, std::move(rp));
  self->spawn(relay, caf::actor_cast<caf::actor>(self), number, std::move(target), std::move(msg), std::move(what));
}

/// A call through this gateway (distribute_call): checked against the
/// caller's role, audited when it changes state, then delivered here or
/// relayed to the member it names (with the caller, so that member checks
/// and audits it too).
void gateway_call(node_actor* self, caf::response_promise rp, const peer_identity& who, const std::string& node,
                  const std::string& name, caf::message msg, const caller* vouched) {
  auto& st = self->state;
  caller c{who.subject, who.role};
  if (vouched != nullptr && who.role == "node" && !vouched->subject.empty())
    c = *vouched; // a member relays an operator's call (members are trusted to vouch)
  if (msg.empty())
    return rp.deliver(make_error(errc::forbidden, "an empty call"));
  auto op = msg.match_element<caf::atom_value>(0) ? msg.get_as<caf::atom_value>(0) : caf::atom("");
  auto callable = std::find(st.cfg.callable.begin(), st.cfg.callable.end(), name) != st.cfg.callable.end();
  auto d = decide_call(name, op, c.role, callable);
  // The whole call, as the audit log shows it (rendered only when audited).
  auto described = [&] {
    if (!d.secret_arguments || msg.size() < 2 || !msg.match_element<std::string>(1))
      return name + " on " + node + " " + caf::to_string(msg);
    return name + " on " + node + " (" + d.op + ", \"" + msg.get_as<std::string>(1)
           + "\", …: the rest is not written here, it may hold secrets)";
  };
  auto what = name + " on " + node;
  if (!d.allowed) {
    log::warning(st.path, "refused " + d.op + " by " + c.subject + ": " + d.why);
    auto err = make_error(errc::forbidden, d.why);
    if (!d.audited)
      return rp.deliver(err);
    return audit_first(self, {c.subject, d.op, described(), "refused: " + d.why},
                       [rp, err](caf::error) mutable { rp.deliver(err); });
  }
  if (node != st.members->me().name) {
    if (!st.members->find(node))
      return rp.deliver(make_error(errc::unknown_node, node));
    auto call = caf::make_message(call_atom::value, node, name, std::move(msg), c);
    auto h = st.handles.find(node);
    if (h == st.handles.end()) {
      // Connections between members are replaced now and then (caf_openssl
      // drops one of two): wait a little for this one to come back.
      auto wait = std::max(milliseconds{2000}, 5 * st.cfg.heartbeat);
      st.parked.emplace(node, node_state::parked_call{rp, std::move(call), name + " on " + node, clock::now() + wait});
      return;
    }
    if (st.cfg.breakers) {
      // A member that stopped answering (paused, stuck) would hold every
      // call for the relay's whole limit.
      auto v = st.cfg.breakers->allow(actors::peer_breaker(node), clock::now());
      if (!v.allowed)
        return rp.deliver(make_error(errc::unreachable,
                                     "not relayed to " + node + ": its circuit opened after " + std::to_string(v.failures)
                                       + " calls in a row got no answer; a trial goes in "
                                       + std::to_string(v.retry_after.count()) + " ms"));
      st.relayed_to.emplace(st.next_relay, node);
    }
    return relay_to(self, rp, h->second, std::move(call), name + " on " + node);
  }
  auto target = st.names->lookup(name);
  if (!target)
    return rp.deliver(make_error(errc::unknown_node, "no actor named " + name + " on " + node));
  // Members' own calls go straight to the target. An operator's call is
  // asked on their behalf, so the target only ever hears from members and
  // this node (the replicator refuses anyone else).
  auto deliver = [self, target, what, direct = c.role == "node"](caf::response_promise rp, caf::message msg) {
    if (direct)
      rp.delegate(target, std::move(msg));
    else
      relay_to(self, std::move(rp), target, std::move(msg), what);
  };
  if (d.audited_by_target) {
    // The admin actor audits it; who asked is what we verified, never what the caller wrote.
    if (msg.size() > 1 && msg.match_element<std::string>(1))
      msg.get_mutable_as<std::string>(1) = c.subject;
    return deliver(rp, std::move(msg));
  }
  if (!d.audited)
    return deliver(rp, std::move(msg));
  audit_first(self, {c.subject, d.op, described(), "requested"}, [self, rp, deliver, msg](caf::error err) mutable {
    if (err) {
      log::error(self->state.path, "refusing a call: " + self->system().render(err));
      return rp.deliver(err);
    }
    deliver(rp, std::move(msg));
  });
}

/// Chaos on receipt: what the active experiments do to a message from
/// member `who` (nothing for operators' tools and this node's own calls).
actors::fault_verdict chaos_on(node_actor* self, const peer_identity& who) {
  auto& st = self->state;
  if (!st.cfg.faults || who.role != "node" || who.name == st.cfg.name)
    return {};
  return st.cfg.faults->on_message(who.name, st.cfg.name, clock::now());
}

/// A member's call as it arrives: lost (never answered: its caller times
/// out, as with a message the network dropped), held, or served now.
void receive_call(node_actor* self, caf::response_promise rp, const peer_identity& who, const std::string& node,
                  const std::string& name, caf::message msg, const caller* vouched) {
  auto v = chaos_on(self, who);
  if (v.drop)
    return;
  if (v.delay.count() > 0) {
    auto& st = self->state;
    auto n = st.next_held++;
    st.held.emplace(n, node_state::held_call{std::move(rp), who, node, name, std::move(msg),
                                             vouched ? std::optional<caller>{*vouched} : std::nullopt});
    self->delayed_send(self, v.delay, release_atom::value, n);
    return;
  }
  gateway_call(self, std::move(rp), who, node, name, std::move(msg), vouched);
}

caf::behavior node_actor_fun(node_actor* self, cluster_config cfg, std::shared_ptr<cluster_view> view,
                             std::shared_ptr<actors::name_table> names, const std::string& path) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.view = std::move(view);
  st.names = std::move(names);
  st.path = path;
  member_info me{st.cfg.name, st.cfg.host, st.cfg.port, wall_ms(), 0};
  std::set<std::string> seeds;
  for (auto& s : st.cfg.seeds)
    if (s != address(st.cfg.host, st.cfg.port))
      seeds.insert(s);
  auto joining = seeds.size();
  st.members.emplace(membership_config{st.cfg.heartbeat, st.cfg.unhealthy_after, st.cfg.remove_after, st.cfg.sbr},
                     me, std::move(seeds));
  st.creds = st.cfg.creds;
  st.greeter.emplace(st.cfg.cookie, st.cfg.name, st.creds, crypto::random_bytes(32));
  st.view->set_own_node(self->system().node());
  st.view->set_fenced(false);
  log::info(path, "cluster node " + me.name + " on " + address(me.host, me.port) + " ("
                    + (joining == 0 ? "founding a cluster" : "joining through " + std::to_string(joining) + " seed(s)")
                    + (st.cfg.tls ? "; mutual TLS" : "; INSECURE: plain BASP, cookie only") + "; heartbeat " + std::to_string(st.cfg.heartbeat.count())
                    + " ms, split brain " + to_string(st.cfg.sbr.strategy) + ")");
  // An error answering one of our one-way messages (e.g. a heartbeat to a
  // node that restarted and does not know us yet) must not end this actor.
  self->set_error_handler([self](caf::error& err) {
    log::debug(self->state.path, "a peer answered with an error: " + self->system().render(err));
  });
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    for (auto i = st.handles.begin(); i != st.handles.end();) {
      if (i->second.address() != dm.source) {
        ++i;
        continue;
      }
      log::warning(st.path, "lost the connection to " + i->first + ": " + self->system().render(dm.reason));
      st.members->set_connected(i->first, false);
      i = st.handles.erase(i);
    }
  });
  self->send(self, tick_atom::value);
  return {
    [self](tick_atom) { tick(self); },
    [self](connected_atom, const std::string& host, uint16_t port, caf::actor handle, const std::string& why) {
      auto& st = self->state;
      auto addr = address(host, port);
      st.members->dial_done(addr);
      if (!handle) {
        log::debug(st.path, "cannot reach " + addr + ": " + why);
        return;
      }
      handshake(self, handle, host, port);
    },
    // -- the handshake (inbound) ------------------------------------------------
    [self](hello_atom, const member_info&,
           const std::string& nonce) -> caf::result<std::string, std::string, credential> {
      auto sender = self->current_sender();
      if (!sender)
        return make_error(errc::no_handshake, "hello needs a sender");
      auto c = self->state.greeter->on_hello(caf::to_string(sender->node()), nonce, make_nonce(),
                                             static_cast<int64_t>(wall_ms()));
      return {c.nonce, c.proof, c.cred};
    },
    [self](auth_atom, const member_info& hello, const std::string& nonce, const std::string& proof, bool join,
           const credential& cred) -> caf::result<member_info, std::vector<member_info>> {
      auto& st = self->state;
      auto sender = self->current_sender();
      if (!sender)
        return make_error(errc::no_handshake);
      auto& name = hello.name;
      auto a = st.greeter->on_auth(caf::to_string(sender->node()), name, nonce, proof, cred, join,
                                   static_cast<int64_t>(wall_ms()));
      if (a.result == handshake_server::verdict::no_hello)
        return make_error(errc::no_handshake, "send hello first");
      if (a.result != handshake_server::verdict::admitted) {
        log::warning(st.path, std::string{"refused "} + (join ? "a join by " : "a client ") + name + " from node "
                                + caf::to_string(sender->node()) + ": " + a.why);
        return make_error(a.result == handshake_server::verdict::wrong_cookie ? errc::wrong_cookie
                                                                              : errc::bad_certificate,
                          a.why);
      }
      if (!join) {
        st.clients.emplace_back(sender->node(), a.who);
        while (st.clients.size() > max_clients)
          st.clients.pop_front();
        log::info(st.path, "client " + a.who.subject + " (role " + a.who.role + ") authenticated");
        return {st.members->me(), st.members->table()};
      }
      trust(self, sender->node(), a.who);
      log::info(st.path, name + " authenticated" + (a.who.verified ? " (" + a.who.subject + ")" : ""));
      // One connection per pair of nodes (caf_openssl drops the first of
      // two): the joiner's own connection carries our messages to it too.
      st.members->merge({hello}, name, right_now());
      publish(self);
      if (st.members->find(name) && !st.handles.count(name))
        attach(self, name, caf::actor_cast<caf::actor>(sender));
      return {st.members->me(), st.members->table()};
    },
    // -- between members ----------------------------------------------------------
    [self](heartbeat_ack_atom, const std::string& from, int64_t sent_ns) {
      if (!from_member(self))
        return;
      auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now().time_since_epoch()).count();
      auto rtt = now - sent_ns;
      if (rtt >= 0 && rtt < 60'000'000'000)
        self->state.members->set_rtt(from, rtt / 1000);
    },
    [self](heartbeat_atom, const heartbeat& hb) -> caf::result<void> {
      if (!from_member(self))
        return make_error(errc::not_authenticated);
      if (chaos_on(self, *sender_identity(self)).drop)
        return caf::unit; // lost (a delay applies to calls; heartbeats are only lost)
      auto& st = self->state;
      // Echoed at once, so the sender times the round trip (its own clock).
      if (hb.sent_ns != 0)
        if (auto sender = caf::actor_cast<caf::actor>(self->current_sender()))
          self->send(sender, heartbeat_ack_atom::value, st.members->me().name, hb.sent_ns);
      st.members->on_heartbeat(hb, right_now());
      publish(self);
      return caf::unit;
    },
    [self](repl_members_atom) -> caf::result<std::vector<member_handle>> {
      // For this node's replicator: the up members, with our connections.
      auto sender = self->current_sender();
      if (!sender || sender->node() != self->system().node())
        return make_error(errc::not_authenticated);
      auto out = self->state.members->placement_members(clock::now());
      for (auto& m : out)
        if (auto h = self->state.handles.find(m.name); h != self->state.handles.end())
          m.node = h->second;
      return out;
    },
    [self](status_atom) -> caf::result<std::vector<status_row>> {
      if (!authed(self))
        return make_error(errc::not_authenticated);
      return self->state.members->status_rows(clock::now());
    },
    [self](health_atom, const std::string& node) -> caf::result<std::string> {
      if (!authed(self))
        return make_error(errc::not_authenticated);
      if (auto h = self->state.members->health_of(node, clock::now()))
        return std::string{to_string(*h)};
      return make_error(errc::unknown_node, node);
    },
    [self](call_atom, const std::string& node, const std::string& name, caf::message& msg) {
      // distribute_call: a local target answers the caller directly; a call
      // for another member goes through a relay. (The sender is read before
      // the promise: making it takes the sender out of the message.)
      auto who = sender_identity(self);
      auto rp = self->make_response_promise();
      if (!who)
        return rp.deliver(make_error(errc::not_authenticated));
      receive_call(self, rp, *who, node, name, std::move(msg), nullptr);
    },
    [self](call_atom, const std::string& node, const std::string& name, caf::message& msg, const caller& c) {
      auto who = sender_identity(self);
      auto rp = self->make_response_promise();
      if (!who)
        return rp.deliver(make_error(errc::not_authenticated));
      receive_call(self, rp, *who, node, name, std::move(msg), &c);
    },
    [self](release_atom, uint64_t n) {
      if (auto sender = self->current_sender(); !sender || sender->node() != self->system().node())
        return; // only our own timer
      auto i = self->state.held.find(n);
      if (i == self->state.held.end())
        return;
      auto h = std::move(i->second);
      self->state.held.erase(i);
      gateway_call(self, std::move(h.rp), h.who, h.node, h.name, std::move(h.msg), h.vouched ? &*h.vouched : nullptr);
    },
    [self](relayed_atom, uint64_t number, caf::message& answer) {
      auto sender = self->current_sender();
      if (!sender || sender->node() != self->system().node())
        return; // only our own relays
      auto i = self->state.relayed.find(number);
      if (i == self->state.relayed.end())
        return;
      auto rp = std::move(i->second);
      self->state.relayed.erase(i);
      if (auto p = self->state.relayed_to.find(number); p != self->state.relayed_to.end()) {
        // Only silence counts against the member: an error it sent is an answer.
        bool silent = answer.match_elements<caf::error>()
                      && (is(answer.get_as<caf::error>(0), errc::timeout)
                          || is(answer.get_as<caf::error>(0), errc::unreachable));
        if (self->state.cfg.breakers)
          self->state.cfg.breakers->record(actors::peer_breaker(p->second), !silent, clock::now());
        self->state.relayed_to.erase(p);
      }
      if (answer.match_elements<caf::error>())
        rp.deliver(answer.get_as<caf::error>(0));
      else
        rp.deliver(std::move(answer));
    },
    [self](join_atom, const std::vector<std::string>& nodes) -> caf::result<void> {
      auto who = sender_identity(self);
      if (!who)
        return make_error(errc::not_authenticated);
      if (who->role == "viewer")
        return make_error(errc::forbidden, "connect needs role admin; the caller's role is viewer");
      for (auto& n : nodes) {
        if (!parse_host_port(n))
          return make_error(errc::unknown_node, "not HOST:PORT: " + n);
        self->state.members->add_seed(n);
      }
      return caf::unit;
    },
    [self](leave_atom) -> caf::result<void> {
      auto who = sender_identity(self);
      if (!who)
        return make_error(errc::not_authenticated);
      if (who->role == "viewer")
        return make_error(errc::forbidden, "leave needs role admin; the caller's role is viewer");
      // Graceful leave: tell everyone now; the leader moves us to exiting
      // and, once we are gone, to removed. Answered after two heartbeats.
      auto& st = self->state;
      st.members->leave();
      publish(self);
      send_heartbeat(self, st.members->make_heartbeat(clock::now()));
      st.leaving.push_back(self->make_response_promise());
      self->delayed_send(self, 2 * st.cfg.heartbeat, left_atom::value);
      return caf::unit;
    },
    [self](left_atom) {
      send_heartbeat(self, self->state.members->make_heartbeat(clock::now()));
      for (auto& rp : self->state.leaving)
        rp.deliver(caf::unit);
      self->state.leaving.clear();
    },
  };
}

} // namespace

supervision::child_spec node_actor_spec(cluster_config cfg, std::shared_ptr<cluster_view> view,
                                        std::shared_ptr<actors::name_table> names) {
  supervision::child_spec spec;
  spec.id = "node";
  spec.start = [cfg, view, names](const supervision::start_context& ctx) -> caf::expected<caf::actor> {
    auto h = ctx.system.spawn(node_actor_fun, cfg, view, names, ctx.path);
    // Published with reuse: a restarted incarnation must get the same port.
    auto port = cfg.tls ? caf::openssl::publish(h, cfg.port, cfg.host.c_str(), true)
                        : ctx.system.middleman().publish(h, cfg.port, cfg.host.c_str(), true);
    if (!port) {
      // Stopped from a scoped actor and awaited: an anonymous exit request
      // outliving the handle crashes CAF 0.17.
      caf::scoped_actor stopper{ctx.system};
      stopper->monitor(h);
      stopper->send_exit(h, caf::exit_reason::kill);
      stopper->receive([](caf::down_msg&) {});
      return caf::make_error(caf::sec::cannot_open_port,
                             "cannot listen on cluster port " + address(cfg.host, cfg.port) + ": "
                               + ctx.system.render(port.error()));
    }
    return h;
  };
  spec.shutdown = supervision::shutdown_spec::after(std::chrono::milliseconds{2000});
  return actors::registered(std::move(spec), std::move(names));
}

} // namespace cafmcp::cluster
