// libFuzzer target: whatever a backup file holds (damage, tampering, a file
// from someone else), reading it must end in a backup_error or the records,
// never a crash, a hang, a leak or another exception. The first byte picks
// what the rest is: the whole file (0), the header's JSON in front of a
// valid backup's frames (1), or (position, xor) pairs applied to a valid
// backup (2).
// Build and run: bash tests/fuzz/run.sh [seconds] backup_file_fuzzer

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "cluster/backup_file.hpp"

using namespace cafmcp::cluster;

namespace {

backup_key fixed_key() {
  backup_key k;
  k.bytes = std::string(32, '\x42');
  return k;
}

std::string scratch(const char* name) {
  return "/tmp/cafmcp-backup-fuzz-" + std::to_string(::getpid()) + "-" + name;
}

std::string slurp(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

/// A valid backup of three records under the fixed key (made once).
const std::string& valid() {
  static const std::string bytes = [] {
    auto path = scratch("valid.bak");
    std::remove(path.c_str());
    backup_header h;
    h.cluster = "n1";
    h.records = 3;
    {
      backup_writer w{path, h, fixed_key(), 64};
      for (int i = 0; i < 3; ++i) {
        record_delta d;
        d.id = "r" + std::to_string(i);
        d.fields["m:created"] = field_value{"1", hlc_stamp{1, 0, "n1"}};
        d.fields["d:k"] = field_value{std::string(50, 'x'), hlc_stamp{2, 0, "n1"}};
        w.add(d);
      }
      w.finish();
    }
    auto out = slurp(path);
    std::remove(path.c_str());
    return out;
  }();
  return bytes;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string file;
  switch (data[0] % 3) {
    case 0:
      file = rest;
      break;
    case 1: {
      auto& v = valid();
      auto header_len = static_cast<size_t>(static_cast<unsigned char>(v[8]))
                        | static_cast<size_t>(static_cast<unsigned char>(v[9])) << 8
                        | static_cast<size_t>(static_cast<unsigned char>(v[10])) << 16;
      std::string len(4, '\0');
      for (size_t i = 0; i < 4; ++i)
        len[i] = static_cast<char>((rest.size() >> (8 * i)) & 0xff);
      file = v.substr(0, 8) + len + rest + v.substr(12 + header_len);
      break;
    }
    default:
      file = valid();
      for (size_t i = 0; i + 2 < rest.size(); i += 3) {
        auto at = (static_cast<size_t>(static_cast<unsigned char>(rest[i])) << 8
                   | static_cast<unsigned char>(rest[i + 1]))
                  % file.size();
        file[at] = static_cast<char>(file[at] ^ rest[i + 2]);
      }
  }
  auto path = scratch("input.bak");
  {
    std::ofstream out{path, std::ios::binary | std::ios::trunc};
    out << file;
  }
  try {
    backup_reader r{path};
    r.unlock(fixed_key());
    std::vector<record_delta> records;
    while (r.next(records)) {
    }
    if (records.size() != r.header().records)
      __builtin_trap(); // read as whole with a count other than the header's
  } catch (const backup_error&) {
  }
  std::remove(path.c_str());
  return 0;
}
