#pragma once

// The admin shell's interpreter: one command line in, text (or JSON) out.
// It talks to one attached node and, through it, to every member (the
// remote supervision API, cluster/admin_client.hpp). The terminal around it
// (line editing, history, completion) is shell_command.cpp; keeping this
// part free of the terminal lets `-c` and tests run the very same code.

#include <chrono>
#include <functional>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "cli/cluster_connection.hpp"
#include "supervision/tree.hpp"

namespace cafmcp::cli {

struct shell_command_info {
  std::string name;
  std::string usage;
  std::string summary;
  std::string details = {}; // more for `help COMMAND`
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

  int run(const std::vector<std::string>& words, std::ostream& out, std::ostream& err);
  /// "n2:/root/x", "/root/x" or "n2" → member and path (default `fallback`).
  target parse_target(const std::string& arg, const std::string& fallback) const;
  std::string self_name();
  std::vector<std::string> member_names();
  /// An error in words: the context an error carries, else CAF's rendering.
  std::string explain(const caf::error& e) const;
  /// After a failed call: true when the attached node still answers, or
  /// the shell could attach again.
  bool check_connection(std::ostream& err);
  std::vector<std::string> paths_of(const std::string& member, bool supervisors_only);

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
