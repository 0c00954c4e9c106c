#pragma once

// Routing rules as a plain class: which tool serves a tools/call. A rule
// matches a request by tenant, method and tool name (globs, or a regex)
// and by headers; it sends the call to one of its weighted targets, or
// down its fallback chain when none of them is available (down, or its
// breaker open). Rules are tried by priority (highest first, then by id).
// A table is immutable and has a version: a change makes a new table, so
// one decision never mixes two versions, and each table's cache of
// name-to-candidate rules starts empty.

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace cafmcp::protocol {

/// Where a routed call goes: a tool by its full name, or the same tool
/// name under another upstream's namespace ("everything.echo" with
/// namespace "mirror" is "mirror.echo"); and where it runs: here, or on
/// one of a group of cluster members (then the tool may be left out: the
/// member runs the tool called).
struct route_target {
  std::string tool;       // exact ("" when `ns` is set, or the called name on members)
  std::string ns;         // namespace replacement
  std::vector<std::string> members; // cluster members that run it (empty: this node)
  uint32_t weight = 1;    // share among the rule's targets
  /// The tool this target means for a call of `name`.
  std::string resolve(std::string_view name) const;
  std::string describe() const;
};

struct route_rule {
  std::string id;
  int priority = 0;
  std::string tenant = "*";  // glob; "" matches calls without a tenant only
  std::string method = "tools/call"; // glob
  std::string name = "*";    // glob over the called tool's name
  std::string name_regex;    // ECMAScript, whole name ("": not used)
  std::vector<std::pair<std::string, std::string>> headers; // lower-case name -> glob on the value
  std::vector<route_target> targets;   // weighted
  std::vector<route_target> fallbacks; // in order, when no target is available
};

/// The request a decision is made for. `header` returns a request header's
/// value by lower-case name (nullopt: absent).
struct route_request {
  std::string_view tenant;
  std::string_view method;
  std::string_view name;
  std::function<std::optional<std::string>(const std::string&)> header;
};

struct route_decision {
  std::string rule;   // the rule's id
  std::string tool;   // where the call goes
  bool fallback = false;
  uint64_t version = 0;
  std::string member; // the cluster member that runs it ("": this node)
  /// The target as metrics and logs name it: "tool", or "tool@member".
  std::string target() const { return member.empty() ? tool : tool + "@" + member; }
};

/// Whether `tool` can serve a call now, here (`member` "") or on cluster
/// member `member`.
using route_availability = std::function<bool(const std::string& tool, const std::string& member)>;

/// Globs: `*` any run of characters, `?` one character; everything else
/// literal.
bool glob_match(std::string_view pattern, std::string_view text);

class route_table {
public:
  /// Checks and compiles the rules; throws std::invalid_argument naming the
  /// rule (no targets, a zero weight, a bad regex, duplicate ids).
  route_table(std::vector<route_rule> rules, uint64_t version);

  /// The rule for `req` and its target: a weighted pick among the rule's
  /// available targets (`pick` in [0, 1) chooses; within a group of
  /// members, among its available members alike), else its first available
  /// fallback. nullopt: no rule matches (the call goes where it was named)
  /// or nothing of the matching rule is available (`*unavailable` set to
  /// the rule's id then).
  std::optional<route_decision> decide(const route_request& req, double pick, const route_availability& available,
                                       std::string* unavailable = nullptr) const;

  /// Why `req` goes where it goes: each rule in order with the first
  /// condition that failed, or the decision.
  std::vector<std::string> explain(const route_request& req, const route_availability& available) const;

  uint64_t version() const { return version_; }
  const std::vector<route_rule>& rules() const { return rules_; }
  /// Header names the rules look at (lower case): the transport keeps these.
  const std::vector<std::string>& header_names() const { return header_names_; }

  /// Decisions that found their candidate rules in the cache, and all.
  uint64_t cache_hits() const;
  uint64_t lookups() const;

private:
  struct compiled {
    std::optional<std::regex> regex;
  };
  /// Rules (indexes, by priority) whose tenant, method and name conditions
  /// hold for this request; headers are checked per request.
  std::shared_ptr<const std::vector<uint32_t>> candidates(std::string_view tenant, std::string_view method,
                                                          std::string_view name) const;
  bool static_match(size_t i, std::string_view tenant, std::string_view method, std::string_view name) const;
  /// "" when rule i's headers match; else the first that does not.
  std::string header_mismatch(size_t i, const route_request& req) const;

  std::vector<route_rule> rules_; // sorted by priority, then id
  std::vector<compiled> compiled_;
  // Rules by the literal prefix every name they match starts with (from the
  // name glob or regex): a cache miss checks only the rules whose prefix
  // the name has, not all of them.
  std::unordered_map<std::string, std::vector<uint32_t>> by_prefix_;
  std::vector<size_t> prefix_lengths_;
  std::vector<uint32_t> unprefixed_;
  std::vector<std::string> header_names_;
  uint64_t version_;

  static constexpr size_t cache_limit = 65536;
  mutable std::mutex cache_mtx_;
  mutable std::unordered_map<std::string, std::shared_ptr<const std::vector<uint32_t>>> cache_;
  mutable uint64_t hits_ = 0;
  mutable uint64_t lookups_ = 0;
};

/// Rules from config JSON: {"ID": {"priority", "tenant", "method", "name",
/// "name_regex", "headers": {"name": "glob"}, "targets": [{"tool"|"namespace",
/// "members", "weight"}], "fallbacks": [...]}}. Throws std::invalid_argument naming
/// the key.
std::vector<route_rule> parse_routes(const nlohmann::json& routes);

} // namespace cafmcp::protocol
