// Registry (name_table) throughput. Anchors (docs/PERFORMANCE.md): erlmcp's
// gproc measurements, 1.83M lookups/s and 865K mixed ops/s. Goal: >= 9M
// lookups/s on a 2-core machine.

#include <benchmark/benchmark.h>

#include <caf/all.hpp>

#include "actors/name_table.hpp"

namespace {

using cafmcp::actors::name_table;

constexpr int names_count = 1000;

struct world {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::shared_ptr<name_table> table = name_table::make();
  std::vector<std::string> names;
  std::vector<caf::actor> actors;

  world() {
    cfg.set("scheduler.max-threads", 1);
    sys = std::make_unique<caf::actor_system>(cfg);
    for (int i = 0; i < names_count; ++i) {
      names.push_back("mcp_session_" + std::to_string(i));
      actors.push_back(sys->spawn([](caf::event_based_actor*) -> caf::behavior { return {[](int) {}}; }));
      table->put(names.back(), actors.back());
    }
  }
  ~world() {
    for (auto& a : actors)
      caf::anon_send_exit(a, caf::exit_reason::kill);
  }
};

// Built and destroyed in main: an actor system must not be torn down by
// static destructors (CAF's own globals are gone by then).
world* the_world_ptr = nullptr;

world& the_world() {
  return *the_world_ptr;
}

void lookups(benchmark::State& state) {
  auto& w = the_world();
  size_t i = static_cast<size_t>(state.thread_index()) * 7919;
  for (auto _ : state) {
    auto h = w.table->lookup(w.names[i++ % names_count]);
    benchmark::DoNotOptimize(h);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(lookups)->Name("registry/lookup")->Threads(1)->Threads(2)->UseRealTime();

// The same lookups without copying the handle (no reference count write):
// how a router uses the table to send to the actor it finds.
void visits(benchmark::State& state) {
  auto& w = the_world();
  size_t i = static_cast<size_t>(state.thread_index()) * 7919;
  for (auto _ : state) {
    bool found = w.table->visit(w.names[i++ % names_count],
                                [](const caf::actor& h) { benchmark::DoNotOptimize(h.id()); });
    benchmark::DoNotOptimize(found);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(visits)->Name("registry/visit")->Threads(1)->Threads(2)->UseRealTime();

void register_unregister(benchmark::State& state) {
  auto& w = the_world();
  auto who = w.actors[static_cast<size_t>(state.thread_index())];
  auto name = "bench_tmp_" + std::to_string(state.thread_index());
  for (auto _ : state) {
    w.table->put(name, who);
    w.table->erase(name);
  }
  state.SetItemsProcessed(state.iterations() * 2); // two operations per round
}
BENCHMARK(register_unregister)->Name("registry/register+unregister")->Threads(1)->Threads(2)->UseRealTime();

// gproc's "mixed" shape: mostly lookups, some registrations.
void mixed(benchmark::State& state) {
  auto& w = the_world();
  auto who = w.actors[static_cast<size_t>(state.thread_index())];
  auto name = "bench_mixed_" + std::to_string(state.thread_index());
  size_t i = static_cast<size_t>(state.thread_index()) * 7919;
  for (auto _ : state) {
    for (int k = 0; k < 8; ++k)
      benchmark::DoNotOptimize(w.table->lookup(w.names[i++ % names_count]));
    w.table->put(name, who);
    w.table->erase(name);
  }
  state.SetItemsProcessed(state.iterations() * 10);
}
BENCHMARK(mixed)->Name("registry/mixed_80_20")->Threads(1)->Threads(2)->UseRealTime();

} // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv))
    return 1;
  {
    world w;
    the_world_ptr = &w;
    benchmark::RunSpecifiedBenchmarks();
    the_world_ptr = nullptr;
  }
  benchmark::Shutdown();
  return 0;
}
