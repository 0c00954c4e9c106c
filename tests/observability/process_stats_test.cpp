// The memory limit the memory check compares against: the tightest cgroup
// limit along the process's cgroup path (v2 memory.max, v1
// memory.limit_in_bytes), else the machine's RAM.

#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "observability/process_stats.hpp"

using namespace cafmcp::observability;

TEST_CASE("the files that may limit memory are those of the process's cgroup and every one above it, v2 and v1") {
  using v = std::vector<std::string>;
  CHECK(memory_limit_files("0::/system.slice/cafmcp.service\n", "/sys/fs/cgroup")
        == v{"/sys/fs/cgroup/system.slice/cafmcp.service/memory.max", "/sys/fs/cgroup/system.slice/memory.max",
             "/sys/fs/cgroup/memory.max"});
  CHECK(memory_limit_files("4:memory:/process_api/ab\n3:cpuset:/\n0::/\n", "/r")
        == v{"/r/memory/process_api/ab/memory.limit_in_bytes", "/r/memory/process_api/memory.limit_in_bytes",
             "/r/memory/memory.limit_in_bytes", "/r/memory.max"});
  CHECK(memory_limit_files("7:cpu,memory:/x\n", "/r") == v{"/r/memory/x/memory.limit_in_bytes", "/r/memory/memory.limit_in_bytes"});
  CHECK(memory_limit_files("", "/r").empty());
}

TEST_CASE("the memory limit is the tightest memory.max along the cgroup path, else the machine's RAM") {
  double gib = 1024.0 * 1024 * 1024;
  // "max" (v2) and v1's "unlimited" (a huge number) limit nothing.
  auto none = memory_limit(24 * gib, {"max\n", "9223372036854771712\n", ""});
  CHECK(none.first == 24 * gib);
  CHECK_FALSE(none.second);
  auto pod = memory_limit(24 * gib, {"max\n", "536870912\n", "1073741824\n"});
  CHECK(pod.first == 536870912.0);
  CHECK(pod.second);
  // A limit above the machine's RAM limits nothing.
  auto loose = memory_limit(2 * gib, {"4294967296\n"});
  CHECK(loose.first == 2 * gib);
  CHECK_FALSE(loose.second);
  // The machine's RAM unknown: the cgroup's limit is all there is.
  CHECK(memory_limit(0, {"1048576"}).first == 1048576.0);
}

TEST_CASE("the memory ratio is of the limit, and the health text says which limit") {
  process_stats p;
  p.resident_bytes = 256.0 * 1024 * 1024;
  p.memory_limit_bytes = 512.0 * 1024 * 1024;
  p.limit_from_cgroup = true;
  CHECK(memory_ratio(p) == doctest::Approx(0.5));
  CHECK(memory_limit_text(p) == "the cgroup's memory limit (512 MiB)");
  p.limit_from_cgroup = false;
  p.memory_limit_bytes = 24.0 * 1024 * 1024 * 1024;
  CHECK(memory_limit_text(p) == "the machine's memory (24 GiB)");
  CHECK(memory_ratio(process_stats{}) == 0);
}

TEST_CASE("this process's figures need no /proc/meminfo: the limit is known and the resident size is within it") {
  auto p = read_process();
  CHECK(p.resident_bytes > 0);
  CHECK(p.memory_limit_bytes > 0);
  CHECK(memory_ratio(p) > 0);
  CHECK(memory_ratio(p) < 1);
}
