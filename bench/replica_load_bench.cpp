// What a restart of a node with many records on disk costs, step by step,
// without actors: reading a snapshot's text into records (checksum, one
// JSON parse per record), and merging them into a replica store. Records
// shaped as bench/seed_backup writes them (five fields, one data key).

#include <benchmark/benchmark.h>

#include <chrono>
#include <string>

#include "cluster/replica_files.hpp"
#include "cluster/replica_store.hpp"

namespace {

using namespace cafmcp::cluster;

record_delta seed_record(size_t i, uint64_t now) {
  record_delta d;
  d.id = "seed" + std::to_string(i) + "-0123456789abcdef0123456789ab";
  hlc_stamp at{now, 0, "n1"};
  d.fields[field::created] = field_value{std::to_string(now), at};
  d.fields[field::active] = field_value{std::to_string(now), at};
  d.fields[field::ttl] = field_value{"3600000", at};
  d.fields[field::info] = field_value{"", at};
  d.fields[field::data("k")] = field_value{"value-" + std::to_string(i), at};
  return d;
}

/// A snapshot file's text of `n` records.
std::string snapshot_text(size_t n) {
  auto now = static_cast<uint64_t>(
    std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  std::string body;
  for (size_t i = 0; i < n; ++i) {
    body += encode_snapshot_record(seed_record(i, now));
    body += '\n';
  }
  return snapshot_header(n, body) + "\n" + body;
}

void read_snapshot_text(benchmark::State& state) {
  auto n = static_cast<size_t>(state.range(0));
  auto text = snapshot_text(n);
  for (auto _ : state) {
    disk_load load;
    read_snapshot(text, load);
    if (load.records.size() != n)
      state.SkipWithError("the snapshot did not read back");
    benchmark::DoNotOptimize(load);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}

void merge_into_store(benchmark::State& state) {
  auto n = static_cast<size_t>(state.range(0));
  disk_load load;
  read_snapshot(snapshot_text(n), load);
  for (auto _ : state) {
    replica_store store;
    for (auto& d : load.records)
      store.merge(d);
    benchmark::DoNotOptimize(store);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
}

} // namespace

BENCHMARK(read_snapshot_text)->Name("replica_load/read_snapshot")->Arg(100000)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(merge_into_store)->Name("replica_load/merge_into_store")->Arg(100000)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
