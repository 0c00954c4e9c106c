// The replicator alone, without HTTP, MCP or the network: three replicators
// in one process, each behind a stand-in for its node actor that answers the
// members and delivers calls to the named peer's actor as the real node does
// over BASP. A driver keeps `window` session_put writes outstanding, spread
// over the three (so two of three are forwarded to their primary, as through
// the HTTP bench), each acknowledged at consistency majority with factor 2.
// Goal (#20): >= 50 K acknowledged majority writes/s. Durability memory, and
// fsync with a replica_disk actor per node writing a WAL in a temporary
// directory. (All three share one CAF node id, so a replicator cannot tell
// which member a message came from: fine for writes, not for pulls and
// claims, which this bench does not make.)

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "actors/messages.hpp"
#include "base/log.hpp"
#include "actors/name_table.hpp"
#include "cluster/messages.hpp"
#include "cluster/replica_disk.hpp"
#include "cluster/replicator.hpp"

namespace {

using namespace cafmcp;
using namespace std::chrono_literals;

struct bench_config : caf::actor_system_config {
  bench_config() {
    actors::register_types(*this);
    cluster::register_types(*this);
    set("scheduler.max-threads", 2);
    set("logger.verbosity", caf::atom("quiet"));
  }
};

caf::actor_system* sys = nullptr;

/// The node actor's part the replicator uses: its members, and calls to a
/// named actor of a member (delivered locally here).
caf::behavior node_stand_in(caf::event_based_actor* self, std::string me,
                            std::shared_ptr<std::vector<cluster::member_handle>> members,
                            std::shared_ptr<std::map<std::string, std::shared_ptr<actors::name_table>>> tables) {
  return {
    [=](cluster::repl_members_atom) {
      auto out = *members;
      for (auto& m : out)
        if (m.name == me)
          m.node = caf::actor{}; // this node's own entry carries no handle
      return out;
    },
    [=](cluster::call_atom, const std::string& node, const std::string& name, caf::message& msg) {
      auto t = tables->find(node);
      auto target = t == tables->end() ? caf::actor{} : t->second->lookup(name);
      auto rp = self->make_response_promise();
      if (!target)
        rp.deliver(caf::make_error(caf::sec::invalid_argument));
      else
        rp.delegate(target, std::move(msg));
    },
  };
}

/// Three members n1..n3, each a node stand-in and a replicator (and a disk
/// actor with fsync).
struct trio {
  std::vector<caf::actor> replicators;
  std::vector<caf::actor> all; // every actor started, stopped at the end
  std::filesystem::path dir;

  explicit trio(cluster::durability durable) {
    auto members = std::make_shared<std::vector<cluster::member_handle>>();
    auto tables = std::make_shared<std::map<std::string, std::shared_ptr<actors::name_table>>>();
    if (durable == cluster::durability::fsync) {
      char tmpl[] = "/tmp/cafmcp-replicator-bench-XXXXXX";
      dir = mkdtemp(tmpl);
    }
    for (int k = 1; k <= 3; ++k) {
      auto name = "n" + std::to_string(k);
      auto names = actors::name_table::make();
      (*tables)[name] = names;
      auto node = sys->spawn(node_stand_in, name, members, tables);
      names->assign("node", node);
      members->push_back(cluster::member_handle{name, node, 1, true});
      all.push_back(node);
      if (durable == cluster::durability::fsync) {
        auto disk = cluster::replica_disk_spec((dir / name).string(), names);
        all.push_back(start(disk));
      }
      cluster::replication_config cfg;
      cfg.durable = durable;
      cfg.sweep = false;
      auto view = std::make_shared<cluster::cluster_view>();
      view->set_own_node(sys->node());
      auto spec = cluster::replicator_spec(cfg, name, view, names);
      auto rep = start(spec);
      replicators.push_back(rep);
      all.push_back(rep);
    }
  }

  caf::actor start(const supervision::child_spec& spec) {
    auto h = spec.start(supervision::start_context{*sys, "/bench/" + spec.id, caf::make_message()});
    if (!h || !*h) {
      std::fprintf(stderr, "replicator_bench: could not start %s\n", spec.id.c_str());
      std::exit(1);
    }
    return *h;
  }

  ~trio() {
    for (auto& a : all)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    caf::scoped_actor self{*sys};
    for (auto& a : all) {
      self->monitor(a);
      self->receive([](const caf::down_msg&) {}, caf::after(5s) >> [] {});
    }
    if (!dir.empty())
      std::filesystem::remove_all(dir);
  }
};

struct run {
  std::vector<caf::actor> replicators;
  std::vector<std::string> handles;
  size_t total = 0, sent = 0, done = 0, failed = 0;
  caf::actor reply_to;
};

void issue(caf::event_based_actor* self, const std::shared_ptr<run>& r);

void finished(caf::event_based_actor* self, const std::shared_ptr<run>& r, bool ok) {
  ++r->done;
  r->failed += ok ? 0 : 1;
  if (r->sent < r->total)
    issue(self, r);
  else if (r->done == r->total) {
    self->send(r->reply_to, static_cast<uint64_t>(r->failed));
    self->quit();
  }
}

void issue(caf::event_based_actor* self, const std::shared_ptr<run>& r) {
  auto k = r->sent++;
  auto& rep = r->replicators[k % r->replicators.size()];
  auto& handle = r->handles[(k / r->replicators.size()) % r->handles.size()];
  self->request(rep, 10s, actors::session_put_atom::value, handle, "k" + std::to_string(k % 16), std::to_string(k))
    .then([self, r](caf::ok_atom) { finished(self, r, true); },
          [self, r](caf::error&) { finished(self, r, false); });
}

/// Opens `n` handles through the three in turn (retried while they still read their members).
std::vector<std::string> open_handles(const trio& t, size_t n) {
  caf::scoped_actor self{*sys};
  std::vector<std::string> out;
  for (int attempt = 0; out.size() < n && attempt < 1000; ++attempt)
    self->request(t.replicators[out.size() % 3], 5s, actors::session_create_atom::value, int64_t{0})
      .receive([&](actors::session_record& rec) { out.push_back(rec.id); },
               [&](caf::error&) { std::this_thread::sleep_for(10ms); });
  if (out.size() < n) {
    std::fprintf(stderr, "replicator_bench: could not open %zu handles\n", n);
    std::exit(1);
  }
  return out;
}

void majority_writes(benchmark::State& state, cluster::durability durable) {
  trio t{durable};
  auto handles = open_handles(t, 64);
  auto window = static_cast<size_t>(state.range(0));
  const size_t per_iteration = durable == cluster::durability::fsync ? 2000 : 20000;
  uint64_t failed = 0;
  for (auto _ : state) {
    caf::scoped_actor self{*sys};
    auto r = std::make_shared<run>();
    r->replicators = t.replicators;
    r->handles = handles;
    r->total = per_iteration;
    r->reply_to = self;
    sys->spawn([r, window](caf::event_based_actor* driver) {
      for (size_t i = 0; i < window && r->sent < r->total; ++i)
        issue(driver, r);
    });
    self->receive([&](uint64_t f) { failed += f; });
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * per_iteration));
  state.counters["failed"] = static_cast<double>(failed);
}

void memory_writes(benchmark::State& state) {
  majority_writes(state, cluster::durability::memory);
}

void fsync_writes(benchmark::State& state) {
  majority_writes(state, cluster::durability::fsync);
}

} // namespace

BENCHMARK(memory_writes)->Name("replicator/majority_writes/memory")->Arg(16)->Arg(128)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(fsync_writes)->Name("replicator/majority_writes/fsync")->Arg(16)->Arg(128)->Unit(benchmark::kMillisecond)->UseRealTime();

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  log::configure(log::level::warning, log::format::text, "bench"); // not the replicators' progress lines
  {
    bench_config cfg;
    caf::actor_system system{cfg};
    sys = &system;
    benchmark::RunSpecifiedBenchmarks();
    sys = nullptr;
  }
  benchmark::Shutdown();
  return 0;
}
