// Supervisor restart latency: a child is killed; how long until its
// replacement runs (its behaviour has started and reported in). Prints
// p50/p99 over many restarts.

#include <algorithm>

#include <benchmark/benchmark.h>

#include <caf/all.hpp>

#include "base/log.hpp"
#include "supervision/messages.hpp"
#include "supervision/supervisor.hpp"

namespace {

using namespace cafmcp::supervision;
using up_atom = caf::atom_constant<caf::atom("up")>;

struct bench_config : caf::actor_system_config {
  bench_config() {
    register_types(*this);
    set("scheduler.policy", caf::atom("sharing"));
    set("scheduler.max-threads", 2);
  }
};

void restart_latency(benchmark::State& state) {
  cafmcp::log::configure(cafmcp::log::level::error, cafmcp::log::format::text, "bench");
  bench_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  auto observer = caf::actor{self};
  child_spec spec;
  spec.id = "worker";
  spec.start = [observer](const start_context& ctx) -> caf::expected<caf::actor> {
    return ctx.system.spawn([observer](caf::event_based_actor* me) -> caf::behavior {
      me->send(observer, up_atom::value, me->id());
      return {[](int) {}};
    });
  };
  auto sup = spawn_supervisor(sys, "/bench", supervisor_flags{strategy::one_for_one, 1000000,
                                                              std::chrono::milliseconds{1000}},
                              {spec});
  caf::actor current;
  self->receive([&](up_atom, caf::actor_id) {});
  std::vector<double> micros;
  for (auto _ : state) {
    std::vector<child_info> rows;
    self->request(sup, std::chrono::seconds(5), which_children_atom::value)
      .receive([&](std::vector<child_info>& xs) { rows = std::move(xs); }, [](caf::error&) {});
    auto t0 = std::chrono::steady_clock::now();
    caf::anon_send_exit(rows.at(0).handle, caf::exit_reason::kill);
    self->receive([&](up_atom, caf::actor_id) {});
    auto dt = std::chrono::steady_clock::now() - t0;
    micros.push_back(std::chrono::duration<double, std::micro>(dt).count());
  }
  std::sort(micros.begin(), micros.end());
  auto pct = [&](double p) { return micros[static_cast<size_t>(p * static_cast<double>(micros.size() - 1))]; };
  state.counters["p50_us"] = pct(0.50);
  state.counters["p99_us"] = pct(0.99);
  state.counters["max_us"] = micros.back();
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
}
BENCHMARK(restart_latency)->Name("supervisor/restart_latency")->Iterations(5000)->Unit(benchmark::kMicrosecond);

} // namespace

BENCHMARK_MAIN();
