// The node process's resource use, read from /proc.
#include "observability/process_stats.hpp"

#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

namespace cafmcp::observability {

/// Resident memory as a share of the machine's (0 when unknown).
double memory_ratio(const process_stats& p) {
  return p.machine_bytes > 0 ? p.resident_bytes / p.machine_bytes : 0;
}

process_stats read_process() {
  process_stats p;
  std::ifstream status{"/proc/self/status"};
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0)
      p.resident_bytes = std::stod(line.substr(6)) * 1024;
    else if (line.rfind("Threads:", 0) == 0)
      p.threads = std::stod(line.substr(8));
  }
  std::ifstream meminfo{"/proc/meminfo"};
  for (std::string line; std::getline(meminfo, line);)
    if (line.rfind("MemTotal:", 0) == 0)
      p.machine_bytes = std::stod(line.substr(9)) * 1024;
  std::ifstream stat{"/proc/self/stat"};
  std::string all((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  auto close = all.rfind(')');
  if (close != std::string::npos) {
    std::istringstream rest{all.substr(close + 2)};
    std::vector<std::string> f;
    for (std::string x; rest >> x;)
      f.push_back(x);
    if (f.size() > 12) // utime and stime: fields 14 and 15 of stat, 12 and 13 after the name
      p.cpu_seconds = (std::stod(f[11]) + std::stod(f[12])) / static_cast<double>(::sysconf(_SC_CLK_TCK));
  }
  return p;
}

} // namespace cafmcp::observability
