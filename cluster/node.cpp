#include "cluster/node.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <set>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include "actors/core_sup.hpp"
#include "cluster/cookie.hpp"
#include "cluster/errors.hpp"
#include "cluster/host_port.hpp"
#include "cluster/messages.hpp"
#include "cluster/tcp_probe.hpp"
#include "base/crypto.hpp"
#include "base/log.hpp"

namespace cafmcp::cluster {

namespace {

using clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

uint64_t wall_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<milliseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count());
}

std::string address(const std::string& host, uint16_t port) {
  return host + ":" + std::to_string(port);
}

std::string join(const std::set<std::string>& s) {
  std::string out;
  for (auto& x : s)
    out += (out.empty() ? "" : ",") + x;
  return "{" + out + "}";
}

member_state state_of(const member_info& m) {
  return static_cast<member_state>(m.state);
}

/// A member as this node sees it.
struct peer {
  member_info info;
  caf::actor handle;      // our authenticated connection to its node actor
  bool heard = false;      // a heartbeat arrived from this incarnation
  clock::time_point last_heard{};
  sbr_view::report report; // whom it says it reaches, and whom it lost
  clock::time_point down_since{};
  clock::time_point known_since = clock::now(); // when this incarnation was first seen
  health last_health = health::unhealthy;        // as last logged
  clock::time_point unconnected_since = clock::now(); // without a connection since
  int64_t rtt_us = -1;                                // the last heartbeat round trip
};

struct node_state {
  cluster_config cfg;
  std::shared_ptr<cluster_view> view;
  std::shared_ptr<actors::name_table> names;
  std::string path;
  member_info me;
  std::map<std::string, peer> peers;          // by name
  std::set<std::string> seeds;                // host:port to join through
  std::set<caf::node_id> authed;              // members' nodes that may talk to us
  std::deque<caf::node_id> clients;           // clients (cafmcp status) that may, oldest first
  std::map<caf::node_id, std::vector<std::string>> nonces; // handshakes in flight (our challenges)
  std::map<caf::node_id, member_info> hellos;              // who said hello from that node
  std::deque<caf::node_id> hello_order;                    // to bound both maps (oldest first)
  std::set<std::string> connecting;                        // addresses with a connect attempt under way
  uint64_t seq = 0;
  std::string view_key; // the reachability view the resolver saw last
  clock::time_point view_since{};
  std::string decided_key; // the view of the last logged decision
  bool fenced = false;
  bool fenced_as_bridge = false;    // fenced for reaching sides that did not reach each other
  std::set<std::string> fenced_side;
  std::string leader;
  std::vector<caf::response_promise> leaving; // graceful leave requests to answer
  std::map<uint64_t, caf::response_promise> relayed; // calls waiting on a relay, by relay number
  uint64_t next_relay = 0;
};

using left_atom = caf::atom_constant<caf::atom("cl_left")>;
using relayed_atom = caf::atom_constant<caf::atom("cl_relayed")>;

// A relayed call is answered within this, or with an error.
constexpr milliseconds relay_limit{60000};

constexpr size_t max_pending_handshakes = 1024; // node ids between hello and auth
constexpr size_t max_clients = 1024;            // authenticated clients remembered

using node_actor = caf::stateful_actor<node_state>;

// -- connecting (off the actor: remote_actor blocks, without a timeout) ------------

/// Spawned detached per attempt: probes the port first (so a dropped network
/// cannot block it for minutes), then connects through the middleman and
/// reports back to the node actor.
void connector(caf::event_based_actor* self, caf::actor parent, std::string host, uint16_t port,
               milliseconds probe_timeout, bool tls) {
  caf::actor handle;
  std::string why;
  if (!tcp_probe(host, port, probe_timeout)) {
    why = "no answer from " + address(host, port);
  } else {
    auto r = tls ? caf::openssl::remote_actor(self->system(), host, port)
                 : self->system().middleman().remote_actor(host, port);
    if (r)
      handle = *r;
    else
      why = self->system().render(r.error());
  }
  self->send(parent, connected_atom::value, host, port, handle, why);
  self->quit();
}

/// Spawned per call forwarded to another member: sends it as this node (the
/// peer authenticates members, not our clients) and hands whatever comes
/// back, any message or error, to the node actor, which answers the caller.
/// (Not the caller's promise from here: a promise is delivered by its owner.)
caf::behavior relay(caf::event_based_actor* self, caf::actor parent, uint64_t number, caf::actor peer,
                    caf::message call, std::string what) {
  self->send(peer, std::move(call));
  auto done = [self, parent, number](caf::message answer) {
    self->send(parent, relayed_atom::value, number, std::move(answer));
    self->quit();
  };
  self->set_error_handler([done](caf::error& err) { done(caf::make_message(std::move(err))); });
  self->monitor(peer); // a member that dies answers nothing: say so at once
  self->set_down_handler([done, what](caf::down_msg&) {
    done(caf::make_message(make_error(errc::unreachable, what + ": the member went away")));
  });
  self->set_default_handler([done](caf::scheduled_actor*, caf::message_view& x) -> caf::result<caf::message> {
    done(x.copy_content_to_message());
    return caf::message{};
  });
  return {
    caf::after(relay_limit) >> [done, what] {
      done(caf::make_message(make_error(errc::timeout, what + ": no answer within "
                                                         + std::to_string(relay_limit.count()) + " ms")));
    },
  };
}

peer* find_peer(node_actor* self, const std::string& name) {
  auto i = self->state.peers.find(name);
  return i == self->state.peers.end() ? nullptr : &i->second;
}

bool reachable_peer(node_actor* self, const peer& p, clock::time_point now);

uint32_t missed(node_actor* self, const peer& p, clock::time_point now) {
  if (!p.heard)
    return self->state.cfg.unhealthy_after;
  auto age = std::chrono::duration_cast<milliseconds>(now - p.last_heard).count();
  auto hb = std::max<int64_t>(1, self->state.cfg.heartbeat.count());
  // Heartbeats are due every interval; half an interval of grace keeps
  // normal jitter from reading as a miss.
  auto m = (age - hb / 2) / hb;
  return m < 0 ? 0 : static_cast<uint32_t>(m);
}

health health_of(node_actor* self, const peer& p, clock::time_point now) {
  auto m = missed(self, p, now);
  if (!p.handle || m >= self->state.cfg.unhealthy_after)
    return health::unhealthy;
  return m == 0 ? health::healthy : health::degraded;
}

bool reachable_peer(node_actor* self, const peer& p, clock::time_point now) {
  return health_of(self, p, now) != health::unhealthy;
}

void set_state(node_actor* self, peer& p, member_state s, const std::string& why) {
  if (state_of(p.info) == s)
    return;
  log::info(self->state.path, "member " + p.info.name + ": " + to_string(state_of(p.info)) + " → " + to_string(s)
                                + (why.empty() ? "" : " (" + why + ")"));
  p.info.state = static_cast<uint8_t>(s);
  if (s == member_state::down)
    p.down_since = clock::now();
}

void set_my_state(node_actor* self, member_state s, const std::string& why) {
  auto& st = self->state;
  if (state_of(st.me) == s)
    return;
  log::info(st.path, std::string{"this node: "} + to_string(state_of(st.me)) + " → " + to_string(s)
                       + (why.empty() ? "" : " (" + why + ")"));
  st.me.state = static_cast<uint8_t>(s);
  if (s == member_state::up && st.fenced) {
    st.fenced = false;
    st.view->set_fenced(false);
    log::info(st.path, "unfenced: serving again");
  }
}

void fence(node_actor* self, const std::string& why, std::set<std::string> side, bool bridge = false) {
  auto& st = self->state;
  if (st.fenced)
    return;
  st.fenced = true;
  st.fenced_as_bridge = bridge;
  st.fenced_side = std::move(side);
  set_my_state(self, member_state::down, why);
  st.view->set_fenced(true, "node " + st.me.name + " is fenced: " + why);
  log::warning(st.path, "fenced: " + why + "; refusing MCP requests until the cluster heals");
}

/// Rejoins as a fresh incarnation: the other side has downed the old one.
void rejoin(node_actor* self, const std::string& why) {
  auto& st = self->state;
  st.me.incarnation = std::max(wall_ms(), st.me.incarnation + 1);
  st.me.state = static_cast<uint8_t>(member_state::joining);
  st.fenced_side.clear();
  st.fenced_as_bridge = false;
  // What this node heard before says nothing about the new incarnation's
  // connections: until it has heard a peer again, that peer gets the
  // newcomer's grace before it counts as lost (and is reported so, which
  // others take as evidence that some node is a bridge). Dial at once
  // instead of waiting for the lower name to dial: a frozen and resumed
  // node has lost its connections and the others may still be timing out.
  auto now = clock::now();
  for (auto& [name, p] : st.peers) {
    p.heard = false;
    p.report = {};
    p.known_since = now;
    if (!p.handle)
      p.unconnected_since = clock::time_point{};
  }
  log::info(st.path, "rejoining as a new incarnation (" + why + ")");
}

/// Merges a member table from a peer (gossip): a newer incarnation
/// replaces an older one; within one incarnation a state only moves forward.
void merge(node_actor* self, const std::vector<member_info>& table, const std::string& from) {
  auto& st = self->state;
  for (auto& m : table) {
    if (m.name.empty())
      continue;
    if (m.name == st.me.name) {
      if (m.incarnation != st.me.incarnation)
        continue; // about an older incarnation of this node
      if (state_of(m) == member_state::up && state_of(st.me) == member_state::joining) {
        set_my_state(self, member_state::up, "admitted by the leader");
      } else if (state_of(m) == member_state::down && state_of(st.me) != member_state::down) {
        // The others downed this incarnation: stop serving, come back as a
        // new one. (A node that fenced itself says "down" too; it rejoins
        // once it reaches the other side again, in resolve.)
        fence(self, "downed by " + from, {});
        rejoin(self, from + " downed this incarnation");
      }
      continue;
    }
    auto i = st.peers.find(m.name);
    if (i == st.peers.end()) {
      if (state_of(m) == member_state::removed)
        continue;
      peer p;
      p.info = m;
      st.peers.emplace(m.name, p);
      log::info(st.path, "member " + m.name + " (" + address(m.host, m.port) + ") is known: "
                           + to_string(state_of(m)));
      continue;
    }
    auto& p = i->second;
    if (m.incarnation > p.info.incarnation) {
      log::info(st.path, "member " + m.name + " has a new incarnation: " + to_string(state_of(m)));
      p.info = m;
      p.heard = false;
      p.report = {};
      p.known_since = clock::now();
    } else if (m.incarnation == p.info.incarnation && m.state > p.info.state) {
      set_state(self, p, state_of(m), "as " + from + " says");
    }
  }
}

std::vector<member_info> table(node_actor* self) {
  std::vector<member_info> out{self->state.me};
  for (auto& [name, p] : self->state.peers)
    out.push_back(p.info);
  return out;
}

std::set<std::string> reachable_set(node_actor* self, clock::time_point now) {
  std::set<std::string> out{self->state.me.name};
  for (auto& [name, p] : self->state.peers)
    if (reachable_peer(self, p, now))
      out.insert(name);
  return out;
}

/// Whether a peer counts for split-brain decisions: up, and heard from or
/// known long enough to have been connected (a member only just learned of
/// by gossip gets that time before it can count as unreachable).
bool counts(node_actor* self, const peer& p, clock::time_point now) {
  auto grace = self->state.cfg.heartbeat * self->state.cfg.unhealthy_after;
  return state_of(p.info) == member_state::up && (p.heard || now - p.known_since >= grace);
}

/// Members this node counts and has given up on.
std::set<std::string> lost_set(node_actor* self, clock::time_point now) {
  std::set<std::string> out;
  for (auto& [name, p] : self->state.peers)
    if (counts(self, p, now) && !reachable_peer(self, p, now))
      out.insert(name);
  return out;
}

// -- the handshake (outbound) ---------------------------------------------------

void handshake(node_actor* self, caf::actor handle, const std::string& host, uint16_t port) {
  auto nonce = crypto::to_hex(crypto::random_bytes(16));
  auto timeout = std::max(milliseconds{2000}, 3 * self->state.cfg.heartbeat);
  auto where = address(host, port);
  self->request(handle, timeout, hello_atom::value, self->state.me, nonce)
    .then(
      [=](const std::string& their_nonce, const std::string& their_proof) {
        auto& st = self->state;
        if (!crypto::constant_time_equal(their_proof, cookie_proof(st.cfg.cookie, "server", "", nonce))) {
          log::error(st.path, "the node at " + where + " does not hold our cluster cookie; not joining it");
          return;
        }
        // It proved the cookie: it may talk to us over this connection.
        st.authed.insert(handle.node());
        self->request(handle, timeout, auth_atom::value, st.me.name,
                      cookie_proof(st.cfg.cookie, "client", st.me.name, their_nonce), true)
          .then(
            [=](const member_info& them, const std::vector<member_info>& members) {
              auto& st = self->state;
              merge(self, members, them.name);
              auto p = find_peer(self, them.name);
              if (!p) {
                peer fresh;
                fresh.info = them;
                p = &st.peers.emplace(them.name, fresh).first->second;
              }
              if (p->handle && p->handle != handle)
                return; // connected twice (seed and member); keep the first
              p->handle = handle;
              self->monitor(handle);
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

void connect_to(node_actor* self, const std::string& host, uint16_t port) {
  auto probe = std::min(milliseconds{1000}, std::max(milliseconds{100}, self->state.cfg.heartbeat));
  self->spawn<caf::detached>(connector, caf::actor_cast<caf::actor>(self), host, port, probe, self->state.cfg.tls);
}

// -- each heartbeat interval ------------------------------------------------------

std::vector<status_row> status_rows(node_actor* self, clock::time_point now);

void resolve(node_actor* self, clock::time_point now) {
  auto& st = self->state;
  if (state_of(st.me) == member_state::down) {
    if (st.fenced_as_bridge) {
      // A fenced bridge rejoins once the up members it reaches reach each
      // other again (else it would be a bridge again on admission).
      std::set<std::string> up;
      for (auto& r : reachable_set(self, now))
        if (auto p = find_peer(self, r); p && state_of(p->info) == member_state::up)
          up.insert(r);
      bool split = false;
      for (auto& r : up)
        for (auto& lost : find_peer(self, r)->report.unreachable)
          split = split || up.count(lost) > 0;
      if (!up.empty() && !split)
        rejoin(self, "the members it reaches reach each other again");
      return;
    }
    // Fenced: rejoin (as a new incarnation) once an up member outside our
    // old side answers again (fenced nodes of our own side are down).
    for (auto& r : reachable_set(self, now)) {
      auto p = find_peer(self, r);
      if (p && state_of(p->info) == member_state::up && !st.fenced_side.count(r)) {
        rejoin(self, r + " is reachable again");
        return;
      }
    }
    return;
  }
  if (state_of(st.me) != member_state::up)
    return; // joining or leaving nodes take no part
  sbr_view v;
  v.self = st.me.name;
  v.members[st.me.name] = st.me.incarnation;
  for (auto& [name, p] : st.peers)
    if (counts(self, p, now))
      v.members[name] = p.info.incarnation;
  v.reachable = reachable_set(self, now);
  for (auto& name : v.reachable)
    if (auto p = find_peer(self, name))
      v.reports[name] = p->report;
  // Only members count on either side.
  std::set<std::string> reach;
  for (auto& r : v.reachable)
    if (v.members.count(r)) // this node is a member too
      reach.insert(r);
  v.reachable = reach;
  std::string key = "members";
  for (auto& [name, inc] : v.members)
    key += " " + name;
  key += " reach " + join(v.reachable);
  for (auto& [name, rep] : v.reports)
    key += " " + name + join(rep.reachable) + "/" + join(rep.unreachable);
  if (key != st.view_key) {
    st.view_key = key;
    st.view_since = now;
  }
  auto d = decide(st.cfg.sbr, v);
  if (!d.partitioned)
    return;
  if (now - st.view_since < st.cfg.sbr.stable_after)
    return; // not stable yet
  bool first = st.decided_key != key;
  st.decided_key = key;
  if (first)
    log::warning(st.path, std::string{"split brain resolved ("} + to_string(st.cfg.sbr.strategy) + "): "
                            + (d.keep ? "this side stays up" : "this side goes down") + "; " + d.reason
                            + "; view: reachable " + join(v.reachable));
  if (!d.keep) {
    bool bridge = d.bridges.count(st.me.name) > 0;
    fence(self, d.reason, bridge ? std::set<std::string>{} : d.side, bridge);
    return;
  }
  for (auto& name : d.down)
    if (auto p = find_peer(self, name))
      set_state(self, *p, member_state::down, "split brain resolver: " + d.reason);
  for (auto& name : d.bridges)
    if (auto p = find_peer(self, name))
      set_state(self, *p, member_state::down, "indirectly connected (a bridge)");
}

void lead(node_actor* self, clock::time_point now) {
  auto& st = self->state;
  // The leader: the lowest-named reachable member that is up (or, while
  // nobody is up yet, joining).
  std::string leader;
  auto consider = [&](const std::string& name, member_state s, bool any) {
    if ((s == member_state::up || (any && s == member_state::joining)) && (leader.empty() || name < leader))
      leader = name;
  };
  auto reach = reachable_set(self, now);
  // While no member is up anywhere (all nodes joining through each other),
  // the lowest reachable joining node leads, once it reaches someone; a
  // node alone keeps waiting for its seeds.
  bool any_up = state_of(st.me) == member_state::up;
  for (auto& [name, p] : st.peers)
    any_up = any_up || state_of(p.info) == member_state::up;
  bool bootstrap = !any_up && reach.size() > 1;
  if (!st.fenced)
    consider(st.me.name, state_of(st.me), bootstrap);
  for (auto& name : reach)
    if (auto p = find_peer(self, name))
      consider(name, state_of(p->info), bootstrap);
  if (leader != st.leader) {
    st.leader = leader;
    if (!leader.empty())
      log::info(st.path, "leader: " + leader);
  }
  if (leader != st.me.name)
    return;
  if (state_of(st.me) == member_state::joining)
    set_my_state(self, member_state::up, "leader");
  for (auto& [name, p] : st.peers) {
    auto s = state_of(p.info);
    bool reachable = reach.count(name) > 0;
    if (s == member_state::joining && reachable)
      set_state(self, p, member_state::up, "admitted");
    else if (s == member_state::leaving)
      set_state(self, p, member_state::exiting, "leaving");
    else if (s == member_state::exiting && !reachable)
      set_state(self, p, member_state::removed, "left");
    else if (s == member_state::down && now - p.down_since >= st.cfg.remove_after)
      set_state(self, p, member_state::removed, "down for " + std::to_string(st.cfg.remove_after.count()) + " ms");
  }
}

void send_heartbeats(node_actor* self, clock::time_point now) {
  auto& st = self->state;
  heartbeat hb;
  hb.from = st.me.name;
  hb.incarnation = st.me.incarnation;
  hb.seq = ++st.seq;
  auto reach = reachable_set(self, now);
  for (auto& r : reach)
    hb.reachable.push_back(r);
  for (auto& r : lost_set(self, now))
    hb.unreachable.push_back(r);
  hb.members = table(self);
  hb.sent_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  for (auto& [name, p] : st.peers)
    if (p.handle)
      self->send(p.handle, heartbeat_atom::value, hb);
}

void tick(node_actor* self) {
  auto& st = self->state;
  auto now = clock::now();
  // Connect to every member we have no connection to (down ones too: they
  // learn they were downed and rejoin), and to seeds we do not know yet.
  for (auto& [name, p] : st.peers) {
    auto addr = address(p.info.host, p.info.port);
    if (p.handle) {
      p.unconnected_since = now;
      continue;
    }
    if (st.connecting.count(addr) || state_of(p.info) == member_state::removed)
      continue;
    // The lower name dials; the higher one waits for that connection and
    // dials only if it does not come.
    if (name < st.me.name && now - p.unconnected_since < 5 * st.cfg.heartbeat)
      continue;
    st.connecting.insert(addr);
    connect_to(self, p.info.host, p.info.port);
  }
  for (auto& addr : st.seeds) {
    if (st.connecting.count(addr))
      continue;
    bool known = false;
    for (auto& [name, p] : st.peers)
      known = known || (address(p.info.host, p.info.port) == addr && p.handle);
    if (auto hp = parse_host_port(addr); hp && !known) {
      st.connecting.insert(addr);
      connect_to(self, hp->host, hp->port);
    }
  }
  for (auto& [name, p] : st.peers) {
    if (state_of(p.info) != member_state::up)
      continue;
    auto h = health_of(self, p, now);
    if (h != p.last_health) {
      auto line = "member " + name + ": " + to_string(p.last_health) + " → " + to_string(h) + " ("
                  + std::to_string(missed(self, p, now)) + " heartbeats missed)";
      if (h == health::unhealthy)
        log::warning(st.path, line);
      else
        log::info(st.path, line);
      p.last_health = h;
    }
  }
  lead(self, now);
  resolve(self, now);
  send_heartbeats(self, now);
  st.view->set_rows(status_rows(self, now));
  self->delayed_send(self, st.cfg.heartbeat, tick_atom::value);
}

std::vector<status_row> status_rows(node_actor* self, clock::time_point now) {
  auto& st = self->state;
  std::vector<status_row> rows;
  auto reach = reachable_set(self, now);
  std::string my_side = st.fenced ? "fenced" : (reach.empty() ? st.me.name : *reach.begin());
  status_row me;
  me.node = st.me.name;
  me.address = address(st.me.host, st.me.port);
  me.state = to_string(state_of(st.me));
  me.health = "healthy";
  me.last_heartbeat_ms = 0;
  me.leader = st.leader == st.me.name;
  me.side = my_side;
  me.self = true;
  rows.push_back(me);
  for (auto& [name, p] : st.peers) {
    status_row r;
    r.node = name;
    r.address = address(p.info.host, p.info.port);
    r.state = to_string(state_of(p.info));
    r.health = to_string(health_of(self, p, now));
    r.missed = missed(self, p, now);
    r.last_heartbeat_ms = p.heard ? std::chrono::duration_cast<milliseconds>(now - p.last_heard).count() : -1;
    r.rtt_us = reach.count(name) ? p.rtt_us : -1;
    r.leader = st.leader == name;
    r.side = reach.count(name) ? my_side : "unreachable";
    rows.push_back(r);
  }
  std::sort(rows.begin(), rows.end(), [](auto& a, auto& b) { return a.node < b.node; });
  return rows;
}

bool authed(node_actor* self) {
  auto sender = self->current_sender();
  if (!sender)
    return false;
  auto& st = self->state;
  auto n = sender->node();
  return n == self->system().node() || st.authed.count(n) > 0
         || std::find(st.clients.begin(), st.clients.end(), n) != st.clients.end();
}

caf::behavior node_actor_fun(node_actor* self, cluster_config cfg, std::shared_ptr<cluster_view> view,
                             std::shared_ptr<actors::name_table> names, const std::string& path) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.view = std::move(view);
  st.names = std::move(names);
  st.path = path;
  st.me.name = st.cfg.name;
  st.me.host = st.cfg.host;
  st.me.port = st.cfg.port;
  st.me.incarnation = wall_ms();
  for (auto& s : st.cfg.seeds)
    if (s != address(st.cfg.host, st.cfg.port))
      st.seeds.insert(s);
  // Without seeds this node founds a cluster; with seeds it joins one.
  st.me.state = static_cast<uint8_t>(st.seeds.empty() ? member_state::up : member_state::joining);
  st.view->set_fenced(false);
  log::info(path, "cluster node " + st.me.name + " on " + address(st.me.host, st.me.port) + " ("
                    + (st.seeds.empty() ? "founding a cluster" : "joining through " + std::to_string(st.seeds.size()) + " seed(s)")
                    + (st.cfg.tls ? "; TLS" : "") + "; heartbeat " + std::to_string(st.cfg.heartbeat.count())
                    + " ms, split brain "
                    + to_string(st.cfg.sbr.strategy) + ")");
  // An error answering one of our one-way messages (e.g. a heartbeat to a
  // node that restarted and does not know us yet) must not end this actor.
  self->set_error_handler([self](caf::error& err) {
    log::debug(self->state.path, "a peer answered with an error: " + self->system().render(err));
  });
  self->set_down_handler([self](caf::down_msg& dm) {
    for (auto& [name, p] : self->state.peers)
      if (p.handle && p.handle.address() == dm.source) {
        log::warning(self->state.path, "lost the connection to " + name + ": " + self->system().render(dm.reason));
        p.handle = caf::actor{};
      }
  });
  self->send(self, tick_atom::value);
  return {
    [self](tick_atom) { tick(self); },
    [self](connected_atom, const std::string& host, uint16_t port, caf::actor handle, const std::string& why) {
      auto& st = self->state;
      auto addr = address(host, port);
      st.connecting.erase(addr);
      if (!handle) {
        log::debug(st.path, "cannot reach " + addr + ": " + why);
        return;
      }
      handshake(self, handle, host, port);
    },
    // -- the handshake (inbound) ------------------------------------------------
    [self](hello_atom, const member_info& from, const std::string& nonce) -> caf::result<std::string, std::string> {
      auto sender = self->current_sender();
      if (!sender)
        return make_error(errc::no_handshake, "hello needs a sender");
      auto mine = crypto::to_hex(crypto::random_bytes(16));
      auto& st = self->state;
      // Bounded: whoever connects without finishing the handshake (or
      // without the cookie) cannot grow these maps without end.
      if (!st.nonces.count(sender->node())) {
        st.hello_order.push_back(sender->node());
        while (st.hello_order.size() > max_pending_handshakes) {
          st.nonces.erase(st.hello_order.front());
          st.hellos.erase(st.hello_order.front());
          st.hello_order.pop_front();
        }
      }
      auto& pending = st.nonces[sender->node()];
      if (pending.size() >= 8) // bounded: a peer gets a few handshakes in flight
        pending.erase(pending.begin());
      pending.push_back(mine);
      self->state.hellos[sender->node()] = from;
      return {mine, cookie_proof(self->state.cfg.cookie, "server", "", nonce)};
    },
    [self](auth_atom, const std::string& name, const std::string& proof,
           bool join) -> caf::result<member_info, std::vector<member_info>> {
      auto& st = self->state;
      auto sender = self->current_sender();
      if (!sender)
        return make_error(errc::no_handshake);
      auto i = st.nonces.find(sender->node());
      if (i == st.nonces.end() || i->second.empty())
        return make_error(errc::no_handshake, "send hello first");
      bool matched = false;
      for (auto n = i->second.begin(); n != i->second.end(); ++n)
        if (crypto::constant_time_equal(proof, cookie_proof(st.cfg.cookie, "client", name, *n))) {
          i->second.erase(n);
          matched = true;
          break;
        }
      if (i->second.empty())
        st.nonces.erase(i);
      if (!matched) {
        log::warning(st.path, std::string{"refused "} + (join ? "a join by " : "a client ") + name + " from node "
                                + caf::to_string(sender->node()) + ": wrong cluster cookie");
        return make_error(errc::wrong_cookie, "the cluster cookie does not match");
      }
      if (join) {
        st.authed.insert(sender->node());
      } else {
        st.clients.push_back(sender->node());
        while (st.clients.size() > max_clients)
          st.clients.pop_front();
      }
      if (join) {
        log::info(st.path, name + " authenticated");
        // One connection per pair of nodes (caf_openssl drops the first of
        // two): the joiner's own connection carries our messages to it too.
        auto info = st.hellos[sender->node()];
        if (info.name == name) {
          merge(self, {info}, name);
          if (auto p = find_peer(self, name); p && !p->handle) {
            p->handle = caf::actor_cast<caf::actor>(sender);
            self->monitor(p->handle);
          }
        }
      }
      st.hellos.erase(sender->node());
      return {st.me, table(self)};
    },
    // -- between members ----------------------------------------------------------
    [self](heartbeat_ack_atom, const std::string& from, int64_t sent_ns) {
      if (!authed(self))
        return;
      auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now().time_since_epoch()).count();
      auto rtt = now - sent_ns;
      if (auto p = find_peer(self, from); p && rtt >= 0 && rtt < 60'000'000'000)
        p->rtt_us = rtt / 1000;
    },
    [self](heartbeat_atom, const heartbeat& hb) -> caf::result<void> {
      if (!authed(self))
        return make_error(errc::not_authenticated);
      auto& st = self->state;
      // Echoed at once, so the sender times the round trip (its own clock).
      if (hb.sent_ns != 0)
        if (auto sender = caf::actor_cast<caf::actor>(self->current_sender()))
          self->send(sender, heartbeat_ack_atom::value, st.me.name, hb.sent_ns);
      merge(self, hb.members, hb.from);
      if (auto p = find_peer(self, hb.from); p && p->info.incarnation == hb.incarnation) {
        p->heard = true;
        p->last_heard = clock::now();
        p->report.reachable = std::set<std::string>(hb.reachable.begin(), hb.reachable.end());
        p->report.unreachable = std::set<std::string>(hb.unreachable.begin(), hb.unreachable.end());
      }
      (void) st;
      return caf::unit;
    },
    [self](repl_members_atom) -> caf::result<std::vector<member_handle>> {
      // For this node's replicator: the up members (this node while up and
      // unfenced), and whether each is reachable now.
      auto sender = self->current_sender();
      if (!sender || sender->node() != self->system().node())
        return make_error(errc::not_authenticated);
      auto& st = self->state;
      auto now = clock::now();
      std::vector<member_handle> out;
      if (state_of(st.me) == member_state::up && !st.fenced)
        out.push_back(member_handle{st.me.name, caf::actor{}, st.me.incarnation, true});
      for (auto& [name, p] : st.peers)
        if (state_of(p.info) == member_state::up)
          out.push_back(member_handle{name, p.handle, p.info.incarnation, p.handle && reachable_peer(self, p, now)});
      return out;
    },
    [self](status_atom) -> caf::result<std::vector<status_row>> {
      if (!authed(self))
        return make_error(errc::not_authenticated);
      return status_rows(self, clock::now());
    },
    [self](health_atom, const std::string& node) -> caf::result<std::string> {
      if (!authed(self))
        return make_error(errc::not_authenticated);
      if (node == self->state.me.name)
        return std::string{self->state.fenced ? "unhealthy" : "healthy"};
      auto p = find_peer(self, node);
      if (!p)
        return make_error(errc::unknown_node, node);
      return std::string{to_string(health_of(self, *p, clock::now()))};
    },
    [self](call_atom, const std::string& node, const std::string& name, caf::message& msg) {
      // distribute_call: a local target answers the caller directly; a call
      // for another member goes through a relay. (Checked before the
      // promise: making it takes the sender out of the message.)
      bool ok = authed(self);
      auto rp = self->make_response_promise();
      if (!ok)
        return rp.deliver(make_error(errc::not_authenticated));
      auto& st = self->state;
      if (node == st.me.name) {
        auto target = st.names->lookup(name);
        if (!target)
          return rp.deliver(make_error(errc::unknown_node, "no actor named " + name + " on " + node));
        rp.delegate(target, std::move(msg));
        return;
      }
      auto p = find_peer(self, node);
      if (!p)
        return rp.deliver(make_error(errc::unknown_node, node));
      if (!p->handle)
        return rp.deliver(make_error(errc::unreachable, node + " is not connected"));
      auto number = st.next_relay++;
      st.relayed.emplace(number, rp);
      self->spawn(relay, caf::actor_cast<caf::actor>(self), number, p->handle,
                  caf::make_message(call_atom::value, node, name, std::move(msg)), name + " on " + node);
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
      if (answer.match_elements<caf::error>())
        rp.deliver(answer.get_as<caf::error>(0));
      else
        rp.deliver(std::move(answer));
    },
    [self](join_atom, const std::vector<std::string>& nodes) -> caf::result<void> {
      if (!authed(self))
        return make_error(errc::not_authenticated);
      for (auto& n : nodes) {
        if (!parse_host_port(n))
          return make_error(errc::unknown_node, "not HOST:PORT: " + n);
        self->state.seeds.insert(n);
      }
      return caf::unit;
    },
    [self](leave_atom) -> caf::result<void> {
      if (!authed(self))
        return make_error(errc::not_authenticated);
      // Graceful leave: tell everyone now; the leader moves us to exiting
      // and, once we are gone, to removed. Answered after two heartbeats.
      set_my_state(self, member_state::leaving, "leaving the cluster");
      send_heartbeats(self, clock::now());
      self->state.leaving.push_back(self->make_response_promise());
      self->delayed_send(self, 2 * self->state.cfg.heartbeat, left_atom::value);
      return caf::unit;
    },
    [self](left_atom) {
      send_heartbeats(self, clock::now());
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
