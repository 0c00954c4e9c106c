#pragma once
// The admin shell's interpreter: one command line in, text (or JSON) out.
// It talks to one attached node and, through it, to every member (the
// remote supervision API, cluster/admin_client.hpp). The terminal around it
// (line editing, history, completion) is shell_command.cpp; keeping this
// part free of the terminal lets `-c` and tests run the very same code.

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "cli/cluster_connection.hpp"
#include "protocol/route_document.hpp"
#include "supervision/tree.hpp"

namespace cafmcp::cli {

class shell;

/// What completion offers for one argument of a command.
enum class shell_arg {
  other,           // nothing
  command,         // a command name
  status,          // the word "status" (watch)
  member,          // a member's name
  node_or_path,    // NODE, NODE:PATH or PATH, any node of the tree (tree)
  actor_path,      // [NODE:]PATH, any node of the tree (kill)
  supervisor_path, // [NODE:]PATH of a supervisor
  child_id,        // a child of the supervisor named by the argument before
};

/// One command line being run: its arguments (the command name dropped)
/// and where its answer and its errors go.
struct shell_call {
  std::vector<std::string> args;
  std::ostream& out;
  std::ostream& err;
};

/// One row of the shell's command table: `help`, completion and dispatch
/// all read it.
struct shell_command_info {
  std::string name;
  std::string usage;
  std::string summary;
  std::vector<shell_arg> args;                    // completion, argument by argument
  int (shell::*run)(const shell_call&) = nullptr; // 0 done, 1 failed, 2 bad usage
  bool needs_node = true;                         // false: runs without a connection
  std::string details = {};                       // more for `help COMMAND`
};

class shell {
public:
  /// `reattach` connects (again) to the node; it is called once at start
  /// and when the connection is lost.
  shell(caf::actor_system& sys, std::function<caf::expected<caf::actor>()> reattach, std::string address,
        std::string who, bool json);

  /// Connects; false (with the reason on `err`) when the node cannot be reached.
  bool connect(std::ostream& err);

  /// Runs one command line. 0: done; 1: the command failed (message on
  /// `err`); 2: bad usage. `quit` sets quit_requested().
  int execute(const std::string& line, std::ostream& out, std::ostream& err);

  /// Completions for `word`, the word being typed after `before` (the line
  /// up to that word).
  std::vector<std::string> complete(const std::string& before, const std::string& word);

  bool quit_requested() const { return quit_; }

  /// What `watch status` does between refreshes: wait, and tell whether the
  /// operator asked to stop. The terminal front end sets it.
  std::function<bool(std::chrono::milliseconds)> stop_watching;

  static const std::vector<shell_command_info>& commands();

  /// The closest command name to `word` (edit distance ≤ 3), or "".
  static std::string closest_command(const std::string& word);

  /// Splits a command line into words; "double quotes" and 'single quotes'
  /// group, a backslash escapes the next character, and a word that starts
  /// with '{' (JSON) runs to the end of the line. Throws
  /// std::invalid_argument on an unterminated quote.
  static std::vector<std::string> split_words(const std::string& line);

private:
  struct target {
    std::string member; // "" until resolved: the attached node
    std::string path;
  };

  static const std::vector<shell_command_info>& table();
  static const shell_command_info* find_command(const std::string& name);

  /// "n2:/root/x", "/root/x" or "n2" → member and path (default `fallback`).
  target parse_target(const std::string& arg, const std::string& fallback) const;
  /// parse_target, then the member resolved (the attached node unless one
  /// is named); nullopt (said on `err`) for an unknown member.
  std::optional<target> locate(const std::string& arg, const std::string& fallback, std::ostream& err);
  std::string self_name();
  std::vector<std::string> member_names();
  /// True for a member of the cluster; else says so on `err`, listing them.
  bool known_member(const std::string& m, std::ostream& err);
  /// An error in words: the context an error carries, else CAF's rendering.
  std::string explain(const caf::error& e) const;
  /// After a failed call: true when the attached node still answers, or
  /// the shell could attach again.
  bool check_connection(std::ostream& err);
  /// Reports a failed call (1); says so clearly when the node itself is gone.
  int failed(const caf::error& e, std::ostream& err);
  /// Bad usage (2): the command's usage line on `err`.
  int usage(const std::string& name, std::ostream& err) const;
  std::vector<std::string> paths_of(const std::string& member, bool supervisors_only);
  /// Completions for argument `arg` (kind `kind`) of `words`' command.
  std::vector<std::string> complete_arg(shell_arg kind, const std::vector<std::string>& words,
                                        const std::string& word);

  // One function per command (the table names them).
  int run_help(const shell_call& c);
  int run_quit(const shell_call& c);
  int run_nodes(const shell_call& c);
  int run_status(const shell_call& c);
  int run_watch(const shell_call& c);
  int run_tree(const shell_call& c);
  int run_which_children(const shell_call& c);
  int run_count_children(const shell_call& c);
  int run_start_child(const shell_call& c);
  int run_restart_child(const shell_call& c);
  int run_terminate_child(const shell_call& c);
  int run_delete_child(const shell_call& c);
  int run_kill(const shell_call& c);
  int run_sessions(const shell_call& c);
  int run_session(const shell_call& c);
  int run_migrate(const shell_call& c);
  int run_backup(const shell_call& c);
  int run_failover(const shell_call& c);
  int run_audit(const shell_call& c);
  int run_breakers(const shell_call& c);
  int run_limits(const shell_call& c);
  int set_limit(const shell_call& c);
  int run_chaos(const shell_call& c);
  int run_routes(const shell_call& c);
  int change_routes(const shell_call& c, const std::string& verb, const std::string& id, const std::string& rule);
  int test_routes(const shell_call& c);
  /// Members that apply a version (or a newer one), that do not yet after
  /// a bounded wait, that are not reachable, and each one's version.
  struct version_spread {
    std::vector<std::string> applied, pending, away;
    std::map<std::string, uint64_t> versions;
  };
  /// Has every reachable member look for `version` and waits (bounded)
  /// until they apply it; a member that does not is named on c.err.
  /// nullopt: the members could not be listed (said on c.err, as `what`).
  std::optional<version_spread> spread_version(const shell_call& c, const std::string& what, uint64_t version);
  /// A change's `answer` (the version it made), spread as by spread_version;
  /// nullopt when it failed (said on c.err as "`what` `subject`: why").
  std::optional<std::pair<protocol::route_document, version_spread>>
  spread_change(const shell_call& c, const std::string& what, const std::string& subject,
                const caf::expected<std::string>& answer);
  /// Says how a change spread (c.out: JSON with --json, else "KIND NAME
  /// added: VERSION_WORD N, applied on …", `note`, the members not
  /// reachable); 0 when every reachable member applies it, else 1.
  int report_change(const shell_call& c, const std::string& kind, const std::string& name, const std::string& verb,
                    const std::string& version_word, uint64_t version, const version_spread& spread,
                    const std::string& note);
  /// `add|replace NAME BODY` and `remove NAME` (the routes, upstreams and
  /// tenants commands) made by `change`; nullopt for any other verb.
  std::optional<int> change_verbs(const shell_call& c, const std::string& command,
                                  const std::function<int(const std::string& verb, const std::string& name,
                                                          const std::string& body)>& change);
  /// Each of `members`' version, in order, and the newest; rc 1 when one
  /// did not answer (said on err).
  struct member_versions {
    std::vector<std::pair<std::string, protocol::route_document>> found;
    std::optional<protocol::route_document> newest;
    int rc = 0;
  };
  member_versions versions_on(const std::vector<std::string>& members, std::ostream& err);
  /// `COMMAND [NODE]` (routes, upstreams, tenants): each member's version
  /// and how many entries `part` of it names ("its config's" when none),
  /// as a table under `column` (and a note when members differ), or as
  /// JSON with --json (each member's part under `key`). `newest` is set
  /// only when the caller should go on to show it (not with --json).
  member_versions list_versions(const shell_call& c, const std::string& command, const std::string& column,
                                const std::string& key,
                                const std::function<std::optional<nlohmann::json>(const protocol::route_document&)>& part);
  int run_upstreams(const shell_call& c);
  int change_upstreams(const shell_call& c, const std::string& verb, const std::string& name, const std::string& entry);
  int run_tenants(const shell_call& c);
  int change_tenants(const shell_call& c, const std::string& verb, const std::string& name, const std::string& entry);
  /// The routing rules `member` applies (nullopt: said on `err`).
  std::optional<protocol::route_document> routes_on(const std::string& member, std::ostream& err);
  /// sessions and session: the records `ids` (all when empty) on `members`.
  int list_sessions(const shell_call& c, const std::vector<std::string>& members, bool one);

  caf::actor_system& sys_;
  std::function<caf::expected<caf::actor>()> reattach_;
  std::string address_;
  std::string who_;
  bool json_;
  caf::actor node_;
  std::string self_;
  bool quit_ = false;
  // Completion asks for trees often; a tree a few seconds old is fine.
  struct cached_tree {
    std::chrono::steady_clock::time_point at;
    supervision::tree_node tree;
  };
  std::map<std::string, cached_tree> trees_;
  std::chrono::steady_clock::time_point members_at_{};
  std::vector<std::string> members_;
};

} // namespace cafmcp::cli
