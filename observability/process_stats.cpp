// The node process's resource use, read from /proc.
#include "observability/process_stats.hpp"

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <unistd.h>

namespace cafmcp::observability {

double memory_ratio(const process_stats& p) {
  return p.memory_limit_bytes > 0 ? p.resident_bytes / p.memory_limit_bytes : 0;
}

std::string memory_limit_text(const process_stats& p) {
  auto mib = static_cast<long long>(p.memory_limit_bytes / (1024 * 1024));
  auto size = mib >= 10240 ? std::to_string(mib / 1024) + " GiB" : std::to_string(mib) + " MiB";
  return (p.limit_from_cgroup ? "the cgroup's memory limit (" : "the machine's memory (") + size + ")";
}

std::vector<std::string> memory_limit_files(const std::string& proc_self_cgroup, const std::string& root) {
  std::vector<std::string> out;
  // Each cgroup from the process's own up to the hierarchy's root.
  auto walk = [&out](std::string path, const std::string& base, const std::string& file) {
    for (int depth = 0; depth < 64; ++depth) {
      out.push_back(base + (path == "/" ? std::string{} : path) + "/" + file);
      if (path == "/" || path.empty())
        return;
      auto slash = path.rfind('/');
      path = slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
    }
  };
  std::istringstream in{proc_self_cgroup};
  for (std::string line; std::getline(in, line);) {
    auto first = line.find(':');
    auto second = first == std::string::npos ? first : line.find(':', first + 1);
    if (second == std::string::npos)
      continue;
    auto controllers = line.substr(first + 1, second - first - 1);
    auto path = line.substr(second + 1);
    if (line.rfind("0::", 0) == 0)
      walk(path, root, "memory.max");
    else if (("," + controllers + ",").find(",memory,") != std::string::npos)
      walk(path, root + "/memory", "memory.limit_in_bytes");
  }
  return out;
}

std::pair<double, bool> memory_limit(double machine_bytes, const std::vector<std::string>& limit_texts) {
  double limit = machine_bytes;
  bool from_cgroup = false;
  for (auto& text : limit_texts) {
    char* end = nullptr;
    double v = std::strtod(text.c_str(), &end);
    if (end == text.c_str() || v <= 0)
      continue; // "max", empty or unreadable: no limit at this level
    if (limit <= 0 || v < limit) {
      limit = v;
      from_cgroup = true;
    }
  }
  return {limit, from_cgroup};
}

namespace {

std::string read_all(const std::string& path) {
  std::ifstream in{path};
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

} // namespace

process_stats read_process() {
  process_stats p;
  std::ifstream status{"/proc/self/status"};
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0)
      p.resident_bytes = std::stod(line.substr(6)) * 1024;
    else if (line.rfind("Threads:", 0) == 0)
      p.threads = std::stod(line.substr(8));
  }
  auto pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  double machine = pages > 0 && page > 0 ? static_cast<double>(pages) * static_cast<double>(page) : 0;
  std::vector<std::string> limits;
  for (auto& file : memory_limit_files(read_all("/proc/self/cgroup"), "/sys/fs/cgroup"))
    limits.push_back(read_all(file));
  std::tie(p.memory_limit_bytes, p.limit_from_cgroup) = memory_limit(machine, limits);
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
