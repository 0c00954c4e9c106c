#pragma once
// Cluster membership as one node sees it: the member table, gossip, failure detection, leader, split brain.
//
// A pure class: inputs are what arrives (heartbeats, member tables,
// connections made and lost) and the time, passed in; outputs are data —
// whom to dial, the heartbeat to send, status rows, and events to log or
// act on (fenced, unfenced). The node actor (node.cpp) translates between
// CAF messages and this class; the rules are in docs/CLUSTER.md.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cluster/host_port.hpp"
#include "cluster/messages.hpp"
#include "cluster/split_brain.hpp"

namespace cafmcp::cluster {

/// The time as the caller read it: steady time for intervals, wall time
/// (ms since the epoch) for a new incarnation's start time.
struct moment {
  std::chrono::steady_clock::time_point now;
  uint64_t wall_ms = 0;
};

/// What membership needs of the cluster configuration.
struct membership_config {
  std::chrono::milliseconds heartbeat{1000};
  uint32_t unhealthy_after = 3;                  // missed heartbeats until a member is unhealthy
  std::chrono::milliseconds remove_after{10000}; // a down member is removed after this
  sbr_config sbr;
};

/// Something the node actor logs or acts on.
struct membership_event {
  enum kind_t { info, warning, fenced, unfenced };
  kind_t kind = info;
  std::string text; // the log line; for fenced, why the node refuses requests
};

/// What one heartbeat interval asks of the node actor.
struct tick_result {
  std::vector<host_port> dial; // to connect to (now marked as connecting until dial_done)
  heartbeat beat;                // to send to every connected member
};

/// A member as this node sees it.
struct peer {
  using time_point = std::chrono::steady_clock::time_point;
  member_info info;
  bool connected = false;  // we hold an authenticated connection to its node actor
  bool heard = false;      // a heartbeat arrived from this incarnation
  time_point last_heard{};
  sbr_view::report report; // whom it says it reaches, and whom it lost
  time_point down_since{};
  time_point known_since{};       // when this incarnation was first seen
  health last_health = health::unhealthy; // as last logged
  time_point unconnected_since{}; // without a connection since
  int64_t rtt_us = -1;            // the last heartbeat round trip
};

class membership {
public:
  using time_point = std::chrono::steady_clock::time_point;

  /// This node, founding a cluster (no seeds: up at once) or joining one.
  membership(membership_config cfg, member_info me, std::set<std::string> seeds);

  // -- inputs -------------------------------------------------------------------
  /// A heartbeat from a member: its gossip is merged and, if it is about the
  /// incarnation we know, the member is heard now.
  void on_heartbeat(const heartbeat& hb, moment t);
  /// Merges a member table (gossip): a newer incarnation replaces an older
  /// one; within one incarnation a state only moves forward.
  void merge(const std::vector<member_info>& table, const std::string& from, moment t);
  /// Makes sure `m` is in the table (a node we connected to directly).
  void learn(const member_info& m, time_point now);
  /// Whether we hold a connection to the member's node actor now.
  void set_connected(const std::string& name, bool on);
  /// A connection attempt to host:port ended (either way).
  void dial_done(const std::string& address);
  void add_seed(const std::string& address);
  void set_rtt(const std::string& name, int64_t rtt_us);
  /// A graceful leave: this node tells everyone it is leaving.
  void leave();

  /// Once per heartbeat interval: dial decisions, health changes, leader
  /// duties, the split-brain resolver, and the heartbeat to send.
  tick_result tick(moment t);

  // -- outputs --------------------------------------------------------------------
  heartbeat make_heartbeat(time_point now);
  std::vector<status_row> status_rows(time_point now) const;
  /// Events since the last call (log lines, fenced, unfenced), oldest first.
  std::vector<membership_event> take_events();

  // -- reading ----------------------------------------------------------------------
  const member_info& me() const { return me_; }
  member_state my_state() const { return static_cast<member_state>(me_.state); }
  bool fenced() const { return fenced_; }
  const std::string& leader() const { return leader_; }
  const peer* find(const std::string& name) const;
  const std::map<std::string, peer>& peers() const { return peers_; }
  std::vector<member_info> table() const;
  uint32_t missed(const peer& p, time_point now) const;
  health health_of(const peer& p, time_point now) const;
  /// How `name` is as this node sees it (itself: unhealthy while fenced),
  /// or nullopt for a node it does not know.
  std::optional<health> health_of(const std::string& name, time_point now) const;
  /// For placement: the up members (this node while up and unfenced) and
  /// whether each is reachable now; their node handles are left to the caller.
  std::vector<member_handle> placement_members(time_point now) const;
  bool reachable(const peer& p, time_point now) const { return health_of(p, now) != health::unhealthy; }
  /// Members this node reaches now, itself included.
  std::set<std::string> reachable_set(time_point now) const;
  /// Members this node counts for split brain and has given up on.
  std::set<std::string> lost_set(time_point now) const;

private:
  peer* find_mut(const std::string& name);
  bool counts(const peer& p, time_point now) const;
  void set_state(peer& p, member_state s, const std::string& why, time_point now);
  void set_my_state(member_state s, const std::string& why);
  void fence(const std::string& why, std::set<std::string> side, bool bridge);
  void rejoin(const std::string& why, moment t);
  void plan_dials(time_point now, std::vector<host_port>& dial);
  void note_health(time_point now);
  void lead(time_point now);
  void resolve(moment t);
  void say(membership_event::kind_t kind, std::string text);

  membership_config cfg_;
  member_info me_;
  std::map<std::string, peer> peers_; // by name
  std::set<std::string> seeds_;       // host:port to join through
  std::set<std::string> connecting_;  // addresses with a connect attempt under way
  uint64_t seq_ = 0;
  std::string view_key_; // the reachability view the resolver saw last
  time_point view_since_{};
  std::string decided_key_; // the view of the last logged decision
  bool fenced_ = false;
  bool fenced_as_bridge_ = false; // fenced for reaching sides that did not reach each other
  std::set<std::string> fenced_side_;
  std::string leader_;
  std::vector<membership_event> events_;
};

} // namespace cafmcp::cluster
