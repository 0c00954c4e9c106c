// Actor messaging throughput. Anchors: plain CAF 0.17 on this kind of
// machine does ~2.6M msg/s one-way and ~1M req/s (field guide §9); erlmcp
// claims 971K. Goal: >= 4M msg/s one-way, which takes batching.

#include <benchmark/benchmark.h>

#include <caf/all.hpp>

namespace {

using done_atom = caf::atom_constant<caf::atom("done")>;
using go_atom = caf::atom_constant<caf::atom("go")>;

struct bench_config : caf::actor_system_config {
  explicit bench_config(caf::atom_value policy) {
    set("scheduler.policy", policy);
    set("scheduler.max-threads", 2);
  }
};

// One system per scheduler policy, built and destroyed in main (an actor
// system must not be torn down by static destructors).
caf::actor_system* systems[2] = {nullptr, nullptr};

caf::actor_system& system(int policy = 0) {
  return *systems[policy];
}

struct counter_state {
  int64_t seen = 0;
};

/// Counts items; tells `done_to` once `expected` have arrived.
caf::behavior consumer(caf::stateful_actor<counter_state>* self, int64_t expected, caf::actor done_to) {
  return {
    [=](int) {
      if (++self->state.seen == expected)
        self->send(done_to, done_atom::value);
    },
    [=](const std::vector<int>& batch) {
      self->state.seen += static_cast<int64_t>(batch.size());
      if (self->state.seen == expected)
        self->send(done_to, done_atom::value);
    },
  };
}

void one_way(benchmark::State& state) {
  auto& sys = system();
  const int64_t n = 1'000'000;
  for (auto _ : state) {
    caf::scoped_actor self{sys};
    auto c = sys.spawn(consumer, n, caf::actor{self});
    auto p = sys.spawn([c, n](caf::event_based_actor* me) {
      for (int64_t i = 0; i < n; ++i)
        me->send(c, static_cast<int>(i));
      me->quit();
    });
    self->receive([](done_atom) {});
    caf::anon_send_exit(c, caf::exit_reason::kill);
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(one_way)->Name("messaging/one_way")->Unit(benchmark::kMillisecond)->UseRealTime();

// The same items, sent as batches: one message carries `batch` items.
void one_way_batched(benchmark::State& state) {
  auto& sys = system();
  const int64_t n = 1'000'000;
  const int batch = static_cast<int>(state.range(0));
  for (auto _ : state) {
    caf::scoped_actor self{sys};
    auto c = sys.spawn(consumer, n, caf::actor{self});
    sys.spawn([c, n, batch](caf::event_based_actor* me) {
      std::vector<int> buf;
      buf.reserve(static_cast<size_t>(batch));
      for (int64_t i = 0; i < n; ++i) {
        buf.push_back(static_cast<int>(i));
        if (static_cast<int>(buf.size()) == batch) {
          me->send(c, std::move(buf));
          buf = std::vector<int>{};
          buf.reserve(static_cast<size_t>(batch));
        }
      }
      if (!buf.empty())
        me->send(c, std::move(buf));
      me->quit();
    });
    self->receive([](done_atom) {});
    caf::anon_send_exit(c, caf::exit_reason::kill);
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(one_way_batched)->Name("messaging/one_way_batched")->Arg(16)->Arg(64)->Unit(benchmark::kMillisecond)->UseRealTime();

struct pinger_state {
  int64_t left = 0;
};

/// Request/response with `window` requests outstanding.
void request_response(benchmark::State& state) {
  auto& sys = system(static_cast<int>(state.range(1)));
  const int64_t n = 200'000;
  const int window = static_cast<int>(state.range(0));
  auto server = sys.spawn([](caf::event_based_actor*) -> caf::behavior {
    return {[](int x) { return x + 1; }};
  });
  for (auto _ : state) {
    caf::scoped_actor self{sys};
    auto done_to = caf::actor{self};
    sys.spawn([=](caf::stateful_actor<pinger_state>* me) {
      me->state.left = n;
      auto fire = std::make_shared<std::function<void()>>();
      *fire = [me, server, done_to, fire] {
        me->request(server, caf::infinite, 1).then([me, done_to, fire](int) {
          if (--me->state.left == 0) {
            me->send(done_to, done_atom::value);
            me->quit();
          } else if (me->state.left >= 0) {
            (*fire)();
          }
        });
      };
      for (int i = 0; i < window; ++i)
        (*fire)();
    });
    self->receive([](done_atom) {});
  }
  caf::anon_send_exit(server, caf::exit_reason::kill);
  state.SetItemsProcessed(state.iterations() * n);
}
// Args: {requests outstanding, scheduler policy 0 = sharing, 1 = stealing}.
BENCHMARK(request_response)
  ->Name("messaging/request_response")
  ->ArgNames({"window", "stealing"})
  ->Args({1, 0})
  ->Args({1, 1})
  ->Args({16, 0})
  ->Args({16, 1})
  ->Unit(benchmark::kMillisecond)
  ->UseRealTime();

} // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv))
    return 1;
  {
    bench_config sharing_cfg{caf::atom("sharing")};
    bench_config stealing_cfg{caf::atom("stealing")};
    caf::actor_system sharing{sharing_cfg};
    caf::actor_system stealing{stealing_cfg};
    systems[0] = &sharing;
    systems[1] = &stealing;
    benchmark::RunSpecifiedBenchmarks();
  }
  benchmark::Shutdown();
  return 0;
}
