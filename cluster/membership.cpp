// Cluster membership as one node sees it: the member table, gossip, failure detection, leader, split brain.
#include "cluster/membership.hpp"

#include <algorithm>


namespace cafmcp::cluster {

namespace {

using std::chrono::milliseconds;

std::string address(const std::string& host, uint16_t port) {
  return host + ":" + std::to_string(port);
}

std::string address(const member_info& m) {
  return address(m.host, m.port);
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

peer fresh_peer(const member_info& m, std::chrono::steady_clock::time_point now) {
  peer p;
  p.info = m;
  p.known_since = now;
  p.unconnected_since = now;
  return p;
}

} // namespace

membership::membership(membership_config cfg, member_info me, std::set<std::string> seeds)
  : cfg_(std::move(cfg)), me_(std::move(me)), seeds_(std::move(seeds)) {
  // Without seeds this node founds a cluster; with seeds it joins one.
  me_.state = static_cast<uint8_t>(seeds_.empty() ? member_state::up : member_state::joining);
}

// -- reading ----------------------------------------------------------------------

const peer* membership::find(const std::string& name) const {
  auto i = peers_.find(name);
  return i == peers_.end() ? nullptr : &i->second;
}

peer* membership::find_mut(const std::string& name) {
  auto i = peers_.find(name);
  return i == peers_.end() ? nullptr : &i->second;
}

std::vector<member_info> membership::table() const {
  std::vector<member_info> out{me_};
  for (auto& [name, p] : peers_)
    out.push_back(p.info);
  return out;
}

uint32_t membership::missed(const peer& p, time_point now) const {
  if (!p.heard)
    return cfg_.unhealthy_after;
  auto age = std::chrono::duration_cast<milliseconds>(now - p.last_heard).count();
  auto hb = std::max<int64_t>(1, cfg_.heartbeat.count());
  // Heartbeats are due every interval; half an interval of grace keeps
  // normal jitter from reading as a miss.
  auto m = (age - hb / 2) / hb;
  return m < 0 ? 0 : static_cast<uint32_t>(m);
}

health membership::health_of(const peer& p, time_point now) const {
  auto m = missed(p, now);
  if (!p.connected || m >= cfg_.unhealthy_after)
    return health::unhealthy;
  return m == 0 ? health::healthy : health::degraded;
}

std::optional<health> membership::health_of(const std::string& name, time_point now) const {
  if (name == me_.name)
    return fenced_ ? health::unhealthy : health::healthy;
  if (auto p = find(name))
    return health_of(*p, now);
  return std::nullopt;
}

std::vector<member_handle> membership::placement_members(time_point now) const {
  std::vector<member_handle> out;
  if (state_of(me_) == member_state::up && !fenced_)
    out.push_back(member_handle{me_.name, {}, me_.incarnation, true});
  for (auto& [name, p] : peers_)
    if (state_of(p.info) == member_state::up)
      out.push_back(member_handle{name, {}, p.info.incarnation, p.connected && reachable(p, now)});
  return out;
}

std::set<std::string> membership::reachable_set(time_point now) const {
  std::set<std::string> out{me_.name};
  for (auto& [name, p] : peers_)
    if (reachable(p, now))
      out.insert(name);
  return out;
}

/// Whether a peer counts for split-brain decisions: up, and heard from or
/// known long enough to have been connected (a member only just learned of
/// by gossip gets that time before it can count as unreachable).
bool membership::counts(const peer& p, time_point now) const {
  auto grace = cfg_.heartbeat * cfg_.unhealthy_after;
  return state_of(p.info) == member_state::up && (p.heard || now - p.known_since >= grace);
}

std::set<std::string> membership::lost_set(time_point now) const {
  std::set<std::string> out;
  for (auto& [name, p] : peers_)
    if (counts(p, now) && !reachable(p, now))
      out.insert(name);
  return out;
}

std::vector<membership_event> membership::take_events() {
  std::vector<membership_event> out;
  out.swap(events_);
  return out;
}

void membership::say(membership_event::kind_t kind, std::string text) {
  events_.push_back(membership_event{kind, std::move(text)});
}

// -- states -----------------------------------------------------------------------

void membership::set_state(peer& p, member_state s, const std::string& why, time_point now) {
  if (state_of(p.info) == s)
    return;
  say(membership_event::info, "member " + p.info.name + ": " + to_string(state_of(p.info)) + " → " + to_string(s)
                                + (why.empty() ? "" : " (" + why + ")"));
  p.info.state = static_cast<uint8_t>(s);
  if (s == member_state::down)
    p.down_since = now;
}

void membership::set_my_state(member_state s, const std::string& why) {
  if (state_of(me_) == s)
    return;
  say(membership_event::info, std::string{"this node: "} + to_string(state_of(me_)) + " → " + to_string(s)
                                + (why.empty() ? "" : " (" + why + ")"));
  me_.state = static_cast<uint8_t>(s);
  if (s == member_state::up && fenced_) {
    fenced_ = false;
    say(membership_event::unfenced, "unfenced: serving again");
  }
}

void membership::fence(const std::string& why, std::set<std::string> side, bool bridge) {
  if (fenced_)
    return;
  fenced_ = true;
  fenced_as_bridge_ = bridge;
  fenced_side_ = std::move(side);
  set_my_state(member_state::down, why);
  say(membership_event::fenced, "node " + me_.name + " is fenced: " + why);
  say(membership_event::warning, "fenced: " + why + "; refusing MCP requests until the cluster heals");
}

/// Rejoins as a fresh incarnation: the other side has downed the old one.
void membership::rejoin(const std::string& why, moment t) {
  me_.incarnation = std::max(t.wall_ms, me_.incarnation + 1);
  me_.state = static_cast<uint8_t>(member_state::joining);
  fenced_side_.clear();
  fenced_as_bridge_ = false;
  // What this node heard before says nothing about the new incarnation's
  // connections: until it has heard a peer again, that peer gets the
  // newcomer's grace before it counts as lost (and is reported so, which
  // others take as evidence that some node is a bridge). Dial at once
  // instead of waiting for the lower name to dial: a frozen and resumed
  // node has lost its connections and the others may still be timing out.
  for (auto& [name, p] : peers_) {
    p.heard = false;
    p.report = {};
    p.known_since = t.now;
    if (!p.connected)
      p.unconnected_since = time_point{};
  }
  say(membership_event::info, "rejoining as a new incarnation (" + why + ")");
}

void membership::leave() {
  set_my_state(member_state::leaving, "leaving the cluster");
}

// -- inputs -------------------------------------------------------------------------

void membership::merge(const std::vector<member_info>& table, const std::string& from, moment t) {
  for (auto& m : table) {
    if (m.name.empty())
      continue;
    if (m.name == me_.name) {
      if (m.incarnation != me_.incarnation)
        continue; // about an older incarnation of this node
      if (state_of(m) == member_state::up && state_of(me_) == member_state::joining) {
        set_my_state(member_state::up, "admitted by the leader");
      } else if (state_of(m) == member_state::down && state_of(me_) != member_state::down) {
        // The others downed this incarnation: stop serving, come back as a
        // new one. (A node that fenced itself says "down" too; it rejoins
        // once it reaches the other side again, in resolve.)
        fence("downed by " + from, {}, false);
        rejoin(from + " downed this incarnation", t);
      }
      continue;
    }
    auto i = peers_.find(m.name);
    if (i == peers_.end()) {
      if (state_of(m) == member_state::removed)
        continue;
      peers_.emplace(m.name, fresh_peer(m, t.now));
      say(membership_event::info, "member " + m.name + " (" + address(m) + ") is known: " + to_string(state_of(m)));
      continue;
    }
    auto& p = i->second;
    if (m.incarnation > p.info.incarnation) {
      say(membership_event::info, "member " + m.name + " has a new incarnation: " + to_string(state_of(m)));
      p.info = m;
      p.heard = false;
      p.report = {};
      p.known_since = t.now;
    } else if (m.incarnation == p.info.incarnation && m.state > p.info.state) {
      set_state(p, state_of(m), "as " + from + " says", t.now);
    }
  }
}

void membership::on_heartbeat(const heartbeat& hb, moment t) {
  merge(hb.members, hb.from, t);
  if (auto p = find_mut(hb.from); p && p->info.incarnation == hb.incarnation) {
    p->heard = true;
    p->last_heard = t.now;
    p->report.reachable = std::set<std::string>(hb.reachable.begin(), hb.reachable.end());
    p->report.unreachable = std::set<std::string>(hb.unreachable.begin(), hb.unreachable.end());
  }
}

void membership::learn(const member_info& m, time_point now) {
  if (!find(m.name))
    peers_.emplace(m.name, fresh_peer(m, now));
}

void membership::set_connected(const std::string& name, bool on) {
  if (auto p = find_mut(name))
    p->connected = on;
}

void membership::dial_done(const std::string& address) {
  connecting_.erase(address);
}

void membership::add_seed(const std::string& address) {
  seeds_.insert(address);
}

void membership::set_rtt(const std::string& name, int64_t rtt_us) {
  if (auto p = find_mut(name))
    p->rtt_us = rtt_us;
}

// -- each heartbeat interval --------------------------------------------------------

tick_result membership::tick(moment t) {
  tick_result out;
  plan_dials(t.now, out.dial);
  note_health(t.now);
  lead(t.now);
  resolve(t);
  out.beat = make_heartbeat(t.now);
  return out;
}

void membership::plan_dials(time_point now, std::vector<host_port>& dial) {
  // Connect to every member we have no connection to (down ones too: they
  // learn they were downed and rejoin), and to seeds we do not know yet.
  for (auto& [name, p] : peers_) {
    auto addr = address(p.info);
    if (p.connected) {
      p.unconnected_since = now;
      continue;
    }
    if (connecting_.count(addr) || state_of(p.info) == member_state::removed)
      continue;
    // The lower name dials; the higher one waits for that connection and
    // dials only if it does not come.
    if (name < me_.name && now - p.unconnected_since < 5 * cfg_.heartbeat)
      continue;
    connecting_.insert(addr);
    dial.push_back(host_port{p.info.host, p.info.port});
  }
  for (auto& addr : seeds_) {
    if (connecting_.count(addr))
      continue;
    bool known = false;
    for (auto& [name, p] : peers_)
      known = known || (address(p.info) == addr && p.connected);
    if (auto hp = parse_host_port(addr); hp && !known) {
      connecting_.insert(addr);
      dial.push_back(*hp);
    }
  }
}

void membership::note_health(time_point now) {
  for (auto& [name, p] : peers_) {
    if (state_of(p.info) != member_state::up)
      continue;
    auto h = health_of(p, now);
    if (h == p.last_health)
      continue;
    say(h == health::unhealthy ? membership_event::warning : membership_event::info,
        "member " + name + ": " + to_string(p.last_health) + " → " + to_string(h) + " ("
          + std::to_string(missed(p, now)) + " heartbeats missed)");
    p.last_health = h;
  }
}

void membership::lead(time_point now) {
  // The leader: the lowest-named reachable member that is up (or, while
  // nobody is up yet, joining).
  std::string leader;
  auto consider = [&](const std::string& name, member_state s, bool any) {
    if ((s == member_state::up || (any && s == member_state::joining)) && (leader.empty() || name < leader))
      leader = name;
  };
  auto reach = reachable_set(now);
  // While no member is up anywhere (all nodes joining through each other),
  // the lowest reachable joining node leads, once it reaches someone; a
  // node alone keeps waiting for its seeds.
  bool any_up = state_of(me_) == member_state::up;
  for (auto& [name, p] : peers_)
    any_up = any_up || state_of(p.info) == member_state::up;
  bool bootstrap = !any_up && reach.size() > 1;
  if (!fenced_)
    consider(me_.name, state_of(me_), bootstrap);
  for (auto& name : reach)
    if (auto p = find(name))
      consider(name, state_of(p->info), bootstrap);
  if (leader != leader_) {
    leader_ = leader;
    if (!leader.empty())
      say(membership_event::info, "leader: " + leader);
  }
  if (leader != me_.name)
    return;
  if (state_of(me_) == member_state::joining)
    set_my_state(member_state::up, "leader");
  for (auto& [name, p] : peers_) {
    auto s = state_of(p.info);
    bool is_reachable = reach.count(name) > 0;
    if (s == member_state::joining && is_reachable)
      set_state(p, member_state::up, "admitted", now);
    else if (s == member_state::leaving)
      set_state(p, member_state::exiting, "leaving", now);
    else if (s == member_state::exiting && !is_reachable)
      set_state(p, member_state::removed, "left", now);
    else if (s == member_state::down && now - p.down_since >= cfg_.remove_after)
      set_state(p, member_state::removed, "down for " + std::to_string(cfg_.remove_after.count()) + " ms", now);
  }
}

void membership::resolve(moment t) {
  auto now = t.now;
  if (state_of(me_) == member_state::down) {
    if (fenced_as_bridge_) {
      // A fenced bridge rejoins once the up members it reaches reach each
      // other again (else it would be a bridge again on admission).
      std::set<std::string> up;
      for (auto& r : reachable_set(now))
        if (auto p = find(r); p && state_of(p->info) == member_state::up)
          up.insert(r);
      bool split = false;
      for (auto& r : up)
        for (auto& lost : find(r)->report.unreachable)
          split = split || up.count(lost) > 0;
      if (!up.empty() && !split)
        rejoin("the members it reaches reach each other again", t);
      return;
    }
    // Fenced: rejoin (as a new incarnation) once an up member outside our
    // old side answers again (fenced nodes of our own side are down).
    for (auto& r : reachable_set(now)) {
      auto p = find(r);
      if (p && state_of(p->info) == member_state::up && !fenced_side_.count(r)) {
        rejoin(r + " is reachable again", t);
        return;
      }
    }
    return;
  }
  if (state_of(me_) != member_state::up)
    return; // joining or leaving nodes take no part
  sbr_view v;
  v.self = me_.name;
  v.members[me_.name] = me_.incarnation;
  for (auto& [name, p] : peers_)
    if (counts(p, now))
      v.members[name] = p.info.incarnation;
  v.reachable = reachable_set(now);
  for (auto& name : v.reachable)
    if (auto p = find(name))
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
  if (key != view_key_) {
    view_key_ = key;
    view_since_ = now;
  }
  auto d = decide(cfg_.sbr, v);
  if (!d.partitioned)
    return;
  if (now - view_since_ < cfg_.sbr.stable_after)
    return; // not stable yet
  bool first = decided_key_ != key;
  decided_key_ = key;
  if (first)
    say(membership_event::warning, std::string{"split brain resolved ("} + to_string(cfg_.sbr.strategy) + "): "
                                     + (d.keep ? "this side stays up" : "this side goes down") + "; " + d.reason
                                     + "; view: reachable " + join(v.reachable));
  if (!d.keep) {
    bool bridge = d.bridges.count(me_.name) > 0;
    fence(d.reason, bridge ? std::set<std::string>{} : d.side, bridge);
    return;
  }
  for (auto& name : d.down)
    if (auto p = find_mut(name))
      set_state(*p, member_state::down, "split brain resolver: " + d.reason, now);
  for (auto& name : d.bridges)
    if (auto p = find_mut(name))
      set_state(*p, member_state::down, "indirectly connected (a bridge)", now);
}

// -- outputs ------------------------------------------------------------------------

heartbeat membership::make_heartbeat(time_point now) {
  heartbeat hb;
  hb.from = me_.name;
  hb.incarnation = me_.incarnation;
  hb.seq = ++seq_;
  for (auto& r : reachable_set(now))
    hb.reachable.push_back(r);
  for (auto& r : lost_set(now))
    hb.unreachable.push_back(r);
  hb.members = table();
  hb.sent_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  return hb;
}

std::vector<status_row> membership::status_rows(time_point now) const {
  std::vector<status_row> rows;
  auto reach = reachable_set(now);
  std::string my_side = fenced_ ? "fenced" : (reach.empty() ? me_.name : *reach.begin());
  status_row me;
  me.node = me_.name;
  me.address = address(me_);
  me.state = to_string(state_of(me_));
  me.health = "healthy";
  me.last_heartbeat_ms = 0;
  me.leader = leader_ == me_.name;
  me.side = my_side;
  me.self = true;
  rows.push_back(me);
  for (auto& [name, p] : peers_) {
    status_row r;
    r.node = name;
    r.address = address(p.info);
    r.state = to_string(state_of(p.info));
    r.health = to_string(health_of(p, now));
    r.missed = missed(p, now);
    r.last_heartbeat_ms = p.heard ? std::chrono::duration_cast<milliseconds>(now - p.last_heard).count() : -1;
    r.rtt_us = reach.count(name) ? p.rtt_us : -1;
    r.leader = leader_ == name;
    r.side = reach.count(name) ? my_side : "unreachable";
    rows.push_back(r);
  }
  std::sort(rows.begin(), rows.end(), [](auto& a, auto& b) { return a.node < b.node; });
  return rows;
}

} // namespace cafmcp::cluster
