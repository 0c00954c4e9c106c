#pragma once

// `cafmcp shell`: the admin shell on a terminal (libedit: line editing,
// persistent history, tab completion), or one command with -c.

#include <string>

#include "cli/cluster_connection.hpp"

namespace cafmcp::cli {

struct shell_options {
  connection_options connection;
  std::string command;      // -c: run this one command and exit
  bool json = false;        // JSON output where a command has it
  std::string history_file; // "": $HOME/.cafmcp_history
};

/// -c: the command's exit code (0 done, 1 failed, 2 bad usage). Interactive:
/// 0 after quit or end of input; 1 when the node cannot be reached at start.
int run_shell(const shell_options& opts);

} // namespace cafmcp::cli
