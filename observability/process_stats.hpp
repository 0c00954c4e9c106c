#pragma once
// The node process's resource use as /proc reports it: memory (and the limit
// it is held to), CPU time, threads.

#include <string>
#include <utility>
#include <vector>

namespace cafmcp::observability {

struct process_stats {
  double resident_bytes = 0;
  double memory_limit_bytes = 0; // the cgroup's memory.max when set, else the machine's RAM (0: unknown)
  bool limit_from_cgroup = false;
  double cpu_seconds = 0;
  double threads = 0;
};

/// Resident memory as a share of the memory limit (0 when unknown).
double memory_ratio(const process_stats& p);

/// What the memory ratio is of: "the cgroup's memory limit (512 MiB)" or "the machine's memory (24 GiB)".
std::string memory_limit_text(const process_stats& p);

/// The files that may limit this process's memory, from /proc/self/cgroup's
/// text: memory.max of its cgroup v2 ("0::/system.slice/cafmcp.service") and
/// memory.limit_in_bytes of its cgroup v1 memory controller ("4:memory:/…"),
/// each for its cgroup and every one above it, under `root` (/sys/fs/cgroup).
std::vector<std::string> memory_limit_files(const std::string& proc_self_cgroup, const std::string& root);

/// The tightest of `machine_bytes` and the limits read from those files
/// ("max", unlimited, empty or unreadable: no limit there); whether a cgroup set it.
std::pair<double, bool> memory_limit(double machine_bytes, const std::vector<std::string>& limit_texts);

/// This process's figures now (zeros for what the system does not tell).
/// Needs only /proc/self and /sys/fs/cgroup: a unit with ProcSubset=pid
/// hides /proc/meminfo, so the machine's RAM comes from sysconf.
process_stats read_process();

} // namespace cafmcp::observability
