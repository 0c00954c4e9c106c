#pragma once
// The node process's resource use as /proc reports it: memory, CPU time, threads.

namespace cafmcp::observability {

struct process_stats {
  double resident_bytes = 0;
  double machine_bytes = 0;
  double cpu_seconds = 0;
  double threads = 0;
};

/// Resident memory as a share of the machine's (0 when unknown).
double memory_ratio(const process_stats& p);

/// This process's figures now (zeros for what /proc does not tell).
process_stats read_process();

} // namespace cafmcp::observability
