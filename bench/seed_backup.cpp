// Writes a backup file of N state handles ("seed0" … "seed<N-1>", each with
// key k = "value-<i>"), stamped now and live for TTL_MS, for benchmarks that
// need a large cluster quickly (cafmcp backup restore it). Usage:
//   seed_backup OUT KEY_FILE N [TTL_MS]
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>

#include "cluster/backup_file.hpp"
#include "cluster/replica_store.hpp"

using namespace cafmcp::cluster;

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: seed_backup OUT KEY_FILE N [TTL_MS]\n";
    return 2;
  }
  std::string out = argv[1];
  backup_secret secret;
  secret.key_file = argv[2];
  auto n = std::strtoull(argv[3], nullptr, 10);
  auto ttl = argc > 4 ? std::string{argv[4]} : std::string{"3600000"};
  try {
    auto now = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count());
    backup_header h;
    h.cluster = "seed";
    h.cut = hlc_stamp{now + 1, 0, ""};
    h.records = n;
    h.taken_by = "seed_backup";
    backup_writer w{out, h, make_backup_key(secret)};
    for (uint64_t i = 0; i < n; ++i) {
      record_delta d;
      d.id = "seed" + std::to_string(i);
      hlc_stamp at{now, 0, "seed"};
      d.fields[field::created] = field_value{std::to_string(now), at};
      d.fields[field::active] = field_value{std::to_string(now), at};
      d.fields[field::ttl] = field_value{ttl, at};
      d.fields[field::info] = field_value{"", at};
      d.fields[field::data("k")] = field_value{"value-" + std::to_string(i), at};
      w.add(d);
    }
    auto s = w.finish();
    std::cout << s.records << " records, " << s.file_bytes << " bytes\n";
  } catch (const std::exception& e) {
    std::cerr << "seed_backup: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
