// libFuzzer target: whatever a replica's files hold after a crash, a bad
// disk or tampering, reading the WAL and the snapshot must not crash, hang
// or leak, and every record read must survive a round trip through a WAL
// line. The first byte picks what the rest is: a raw WAL (0), WAL lines
// given their correct checksums so the JSON behind them is what is fuzzed
// (1), a raw snapshot (2), snapshot lines under a correct header (3).
// Build and run: bash tests/fuzz/run.sh [seconds] replica_files_fuzzer

#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "base/crypto.hpp"
#include "cluster/replica_files.hpp"

using namespace cafmcp;
using namespace cafmcp::cluster;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  auto mode = data[0] & 3;
  std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  disk_load out;
  switch (mode) {
    case 0:
      read_wal(text, out);
      break;
    case 1: {
      std::string fixed;
      std::istringstream in{text};
      std::string line;
      while (std::getline(in, line))
        fixed += crypto::sha256_hex(line) + " " + line + "\n";
      read_wal(fixed, out);
      break;
    }
    case 2:
      read_snapshot(text, out);
      break;
    default: {
      size_t lines = 0;
      for (char c : text)
        lines += c == '\n';
      read_snapshot(snapshot_header(lines, text) + "\n" + text, out);
      break;
    }
  }
  for (auto& d : out.records) {
    auto again = decode_wal_line(encode_wal_line(d));
    if (!again || again->id != d.id || again->fields.size() != d.fields.size())
      __builtin_trap(); // a record read back differently than it was read
  }
  return 0;
}
