#pragma once
// Node processes started by the command line (cluster up, backup test-restore): spawned, watched and stopped by PID.

#include <chrono>
#include <string>
#include <vector>

#include <sys/types.h>

namespace cafmcp::cli {

struct node_proc {
  std::string name;
  int cluster_port = 0;
  int http_port = 0;
  int metrics_port = 0;
  pid_t pid = 0;
};

/// Whether nothing listens on 127.0.0.1:port (a bind succeeds).
bool port_free(int port);

/// A port on 127.0.0.1 nothing listens on now (the kernel's pick).
int pick_free_port();

/// This program's path (to start nodes of the same build).
std::string self_exe();

/// Starts one node in its own session (it outlives us with --detach),
/// stdout and stderr to `log`.
pid_t spawn_node(const std::vector<std::string>& argv, const std::string& log);

/// Whether `pid` runs (reaps it if it is our child that ended).
bool alive(pid_t pid);

/// SIGTERM to each, then waits (bounded); SIGKILL to whoever remains.
bool stop_all(const std::vector<node_proc>& procs, std::chrono::seconds grace);

} // namespace cafmcp::cli
