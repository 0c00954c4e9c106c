// The chaos engine: experiments checked against the limits, started, timed and ended; kills driven from here.
#include "observability/chaos.hpp"

#include <cstring>
#include <deque>
#include <map>
#include <random>

#include <caf/all.hpp>

#include "actors/errors.hpp"
#include "actors/messages.hpp"
#include "base/log.hpp"
#include "supervision/tree.hpp"

namespace cafmcp::observability {

using nlohmann::json;
using std::chrono::milliseconds;

namespace {

using end_atom = caf::atom_constant<caf::atom("ch_end")>;
using kill_atom = caf::atom_constant<caf::atom("ch_kill")>;
using report_atom = caf::atom_constant<caf::atom("ch_report")>;
constexpr auto report_interval = std::chrono::seconds(1); // /metrics follows running experiments

constexpr size_t history_kept = 20; // ended experiments listed

int64_t unix_ms() {
  return std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string percent(double p) {
  auto s = std::to_string(p * 100);
  s.erase(s.find_last_not_of('0') + 1);
  if (s.back() == '.')
    s.pop_back();
  return s + "%";
}

std::string mib(uint64_t bytes) {
  return std::to_string(bytes >> 20) + " MiB";
}

/// Reads the spec's fields, refusing unknown ones and wrong types.
class spec_reader {
public:
  explicit spec_reader(const json& j) : j_(j) {}

  std::string text(const char* key, std::string fallback) {
    used_.push_back(key);
    auto i = j_.find(key);
    if (i == j_.end())
      return fallback;
    if (!i->is_string() || i->get<std::string>().empty())
      throw std::invalid_argument(std::string{"\""} + key + "\" must be a non-empty string");
    return i->get<std::string>();
  }

  int64_t integer(const char* key, std::optional<int64_t> fallback, int64_t min, int64_t max) {
    auto i = given(key, fallback.has_value());
    if (i == j_.end())
      return *fallback;
    if (!i->is_number_integer() || i->get<int64_t>() < min || i->get<int64_t>() > max)
      throw std::invalid_argument(std::string{"\""} + key + "\" must be an integer from " + std::to_string(min)
                                  + " to " + std::to_string(max));
    return i->get<int64_t>();
  }

  double probability(const char* key, std::optional<double> fallback) {
    auto i = given(key, fallback.has_value());
    if (i == j_.end())
      return *fallback;
    if (!i->is_number() || !(i->get<double>() > 0) || i->get<double>() > 1)
      throw std::invalid_argument(std::string{"\""} + key + "\" must be a number above 0 and at most 1");
    return i->get<double>();
  }

  void no_other_keys() const {
    for (auto& [key, value] : j_.items())
      if (std::find(used_.begin(), used_.end(), key) == used_.end())
        throw std::invalid_argument("unknown key \"" + key + "\" for a " + j_.value("kind", "") + " experiment");
  }

private:
  /// `key` as given (marked used); end() when absent and `optional`.
  json::const_iterator given(const char* key, bool optional) {
    used_.push_back(key);
    auto i = j_.find(key);
    if (i == j_.end() && !optional)
      throw std::invalid_argument(std::string{"\""} + key + "\" is required");
    return i;
  }

  const json& j_;
  std::vector<std::string> used_;
};

// -- the actor --------------------------------------------------------------------

struct running {
  actors::chaos_experiment rec;
  experiment_plan plan;
  std::vector<char> memory;
};

struct chaos_state {
  std::map<std::string, running> active;
  std::deque<actors::chaos_experiment> ended;
  std::map<std::string, uint64_t> injected_by_kind; // ended experiments'
  uint64_t seq = 0;
  std::mt19937 rng{std::random_device{}()};
};

using chaos_actor = caf::stateful_actor<chaos_state>;

uint64_t injected_of(const running& r, const actors::fault_injection& faults) {
  if (r.plan.kind == "kill" || r.plan.kind == "memory")
    return r.rec.injected;
  auto all = faults.injected();
  auto i = all.find(r.rec.id);
  return i == all.end() ? 0 : i->second;
}

void report(chaos_actor* self, const std::shared_ptr<actors::fault_injection>& faults,
            const std::shared_ptr<metrics::metrics_registry>& metrics) {
  if (!metrics)
    return;
  auto& st = self->state;
  metrics->gauge("cafmcp_chaos_experiments_active", "Chaos experiments running on this node")
    .set(static_cast<double>(st.active.size()));
  auto by_kind = st.injected_by_kind;
  for (auto& [id, r] : st.active)
    by_kind[r.plan.kind] += injected_of(r, *faults);
  for (auto kind : {"kill", "drop", "delay", "tool_fail", "tool_stall", "memory"})
    metrics->counter("cafmcp_chaos_faults_injected_total",
                     "Faults chaos experiments injected (kills, messages dropped or delayed, calls failed or stalled)",
                     {{"kind", kind}})
      .store(by_kind[kind]);
}

/// Ends experiment `id` ("ended" when its time is up, "stopped" by an operator).
std::optional<actors::chaos_experiment> finish(chaos_actor* self, const std::string& id, const std::string& how,
                                               const std::shared_ptr<actors::fault_injection>& faults,
                                               const std::string& path) {
  auto& st = self->state;
  auto i = st.active.find(id);
  if (i == st.active.end())
    return std::nullopt;
  auto rec = i->second.rec;
  rec.injected = injected_of(i->second, *faults);
  rec.state = how;
  rec.ends_ms = unix_ms();
  faults->remove(id);
  st.injected_by_kind[i->second.plan.kind] += rec.injected;
  st.active.erase(i); // frees a memory experiment's bytes
  st.ended.push_front(rec);
  if (st.ended.size() > history_kept)
    st.ended.pop_back();
  log::warning(path, "chaos: " + id + " " + how + " after " + std::to_string(rec.ends_ms - rec.started_ms)
                       + " ms: " + std::to_string(rec.injected) + " fault(s) injected");
  return rec;
}

/// One kill of a kill experiment: a random running actor whose path matches,
/// never this actor nor one of its supervisors.
void kill_one(chaos_actor* self, running& r, const std::shared_ptr<actors::name_table>& names,
              const std::string& path) {
  auto root = names->lookup("root");
  if (!root)
    return;
  auto tree = supervision::collect_tree(self->system(), root, "root", "/root", milliseconds{500});
  if (!tree)
    return;
  std::vector<const supervision::tree_node*> candidates;
  std::function<void(const supervision::tree_node&)> walk = [&](const supervision::tree_node& n) {
    bool ours = path == n.path || path.rfind(n.path + "/", 0) == 0;
    if (!ours && n.handle && n.state == "running" && actors::glob_match(r.plan.target, n.path))
      candidates.push_back(&n);
    for (auto& k : n.children)
      walk(k);
  };
  walk(*tree);
  if (candidates.empty())
    return;
  auto* victim = candidates[std::uniform_int_distribution<size_t>{0, candidates.size() - 1}(self->state.rng)];
  log::debug(path, "chaos: " + r.rec.id + " kills " + victim->path);
  caf::anon_send_exit(victim->handle, caf::exit_reason::kill);
  ++r.rec.injected;
}

caf::behavior chaos_fun(chaos_actor* self, chaos_config cfg, std::shared_ptr<actors::fault_injection> faults,
                        std::shared_ptr<actors::name_table> names,
                        std::shared_ptr<metrics::metrics_registry> metrics, const std::string& path) {
  report(self, faults, metrics);
  return {
    [=](actors::chaos_start_atom, const std::string& spec) -> caf::result<actors::chaos_experiment> {
      auto& st = self->state;
      if (!cfg.enabled)
        return actors::make_error(actors::errc::invalid_argument,
                                  "chaos experiments are off on " + cfg.node_name
                                    + ": set chaos.enabled to true in its config to allow them");
      if (st.active.size() >= cfg.max_experiments)
        return actors::make_error(actors::errc::invalid_argument,
                                  std::to_string(st.active.size()) + " experiments are active on " + cfg.node_name
                                    + " (chaos.max_experiments); stop one first");
      auto planned = plan_experiment(spec, cfg);
      if (auto* why = std::get_if<std::string>(&planned))
        return actors::make_error(actors::errc::invalid_argument, *why);
      auto plan = std::get<experiment_plan>(std::move(planned));
      uint64_t held = 0;
      for (auto& [id, r] : st.active)
        held += r.plan.bytes;
      if (plan.kind == "memory" && held + plan.bytes > cfg.max_memory_bytes)
        return actors::make_error(actors::errc::invalid_argument,
                                  "memory experiments would hold " + mib(held + plan.bytes) + " on " + cfg.node_name
                                    + ", more than chaos.max_memory_bytes (" + mib(cfg.max_memory_bytes) + ")");
      running r;
      r.plan = plan;
      r.rec.id = plan.kind + "-" + std::to_string(++st.seq);
      r.rec.kind = plan.kind;
      r.rec.what = plan.what;
      r.rec.state = "active";
      r.rec.started_ms = unix_ms();
      r.rec.ends_ms = r.rec.started_ms + plan.duration.count();
      auto until = std::chrono::steady_clock::now() + plan.duration;
      if (plan.kind == "drop" || plan.kind == "delay")
        faults->add(r.rec.id, plan.network, until);
      else if (plan.kind == "tool_fail" || plan.kind == "tool_stall")
        faults->add(r.rec.id, plan.tool, until);
      else if (plan.kind == "memory") {
        r.memory.resize(plan.bytes);
        std::memset(r.memory.data(), 1, r.memory.size()); // touched: resident, not just reserved
        r.rec.injected = 1;
      } else if (plan.kind == "kill") {
        self->delayed_send(self, plan.interval, kill_atom::value, r.rec.id);
      }
      self->delayed_send(self, plan.duration, end_atom::value, r.rec.id);
      log::warning(path, "chaos: started " + r.rec.id + " (" + plan.what + ") for "
                           + std::to_string(plan.duration.count()) + " ms");
      auto rec = r.rec;
      if (st.active.empty())
        self->delayed_send(self, report_interval, report_atom::value);
      st.active.emplace(rec.id, std::move(r));
      report(self, faults, metrics);
      return rec;
    },
    [=](actors::chaos_list_atom) {
      std::vector<actors::chaos_experiment> out;
      for (auto& [id, r] : self->state.active) {
        out.push_back(r.rec);
        out.back().injected = injected_of(r, *faults);
      }
      out.insert(out.end(), self->state.ended.begin(), self->state.ended.end());
      return out;
    },
    [=](actors::chaos_stop_atom, const std::string& id) -> caf::result<std::vector<actors::chaos_experiment>> {
      std::vector<std::string> ids;
      for (auto& [key, r] : self->state.active)
        if (id == "all" || key == id)
          ids.push_back(key);
      if (ids.empty() && id != "all")
        return actors::make_error(actors::errc::not_found,
                                  "no experiment " + id + " is active on " + cfg.node_name + " (see chaos list)");
      std::vector<actors::chaos_experiment> out;
      for (auto& key : ids)
        if (auto rec = finish(self, key, "stopped", faults, path))
          out.push_back(*rec);
      report(self, faults, metrics);
      return out;
    },
    [=](report_atom) {
      report(self, faults, metrics);
      if (!self->state.active.empty())
        self->delayed_send(self, report_interval, report_atom::value);
    },
    [=](end_atom, const std::string& id) {
      if (finish(self, id, "ended", faults, path))
        report(self, faults, metrics);
    },
    [=](kill_atom, const std::string& id) {
      auto i = self->state.active.find(id);
      if (i == self->state.active.end())
        return; // ended or stopped
      kill_one(self, i->second, names, path);
      self->delayed_send(self, i->second.plan.interval, kill_atom::value, id);
      report(self, faults, metrics);
    },
  };
}

} // namespace

config::field chaos_config_field() {
  using config::value_type;
  return {"chaos", value_type::object, {}, "chaos experiments (cafmcp chaos; docs/OPERATIONS.md)", {}, {}, {},
          {
            {"enabled", value_type::boolean, false,
             "allow chaos experiments on this node (off: every start is refused)", {}, {}, {}, {}},
            {"max_experiments", value_type::integer, 8, "experiments active at once", 1, 64, {}, {}},
            {"max_duration_ms", value_type::integer, 600000, "the longest an experiment may run", 1000, 86400000,
             {}, {}},
            {"max_memory_bytes", value_type::integer, 268435456,
             "memory experiments together hold at most this much", 0, {}, {}, {}},
          }};
}

chaos_config chaos_config_from(const nlohmann::json& v) {
  chaos_config out;
  auto& c = v.at("chaos");
  out.enabled = c.at("enabled").get<bool>();
  out.max_experiments = c.at("max_experiments").get<size_t>();
  out.max_duration = milliseconds{c.at("max_duration_ms").get<int64_t>()};
  out.max_memory_bytes = c.at("max_memory_bytes").get<uint64_t>();
  return out;
}

std::variant<experiment_plan, std::string> plan_experiment(const std::string& spec, const chaos_config& cfg) {
  auto j = json::parse(spec, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return std::string{"an experiment is a JSON object, e.g. {\"kind\": \"drop\", \"probability\": 0.3, "
                       "\"duration_ms\": 10000}"};
  experiment_plan p;
  try {
    spec_reader r{j};
    p.kind = r.text("kind", "");
    p.duration = milliseconds{r.integer("duration_ms", std::nullopt, 1, cfg.max_duration.count())};
    if (p.kind == "kill") {
      p.target = r.text("target", "");
      if (p.target.rfind("/root", 0) != 0)
        throw std::invalid_argument("\"target\" must be a tree path or glob under /root, e.g. /root/observability_sup/*");
      p.interval = milliseconds{r.integer("interval_ms", 1000, cfg.min_interval.count(), 3600000)};
      p.what = "kill an actor under " + p.target + " every " + std::to_string(p.interval.count()) + " ms";
    } else if (p.kind == "drop" || p.kind == "delay") {
      p.network.from = r.text("from", "*");
      p.network.to = r.text("to", "*");
      if (p.kind == "drop") {
        p.network.drop = r.probability("probability", std::nullopt);
        p.what = "drop " + percent(p.network.drop) + " of the messages from " + p.network.from + " to " + p.network.to;
      } else {
        p.network.delay = milliseconds{r.integer("delay_ms", std::nullopt, 1, 60000)};
        p.what = "delay the calls from " + p.network.from + " to " + p.network.to + " by "
                 + std::to_string(p.network.delay.count()) + " ms";
      }
    } else if (p.kind == "tool_fail" || p.kind == "tool_stall") {
      p.tool.tool = r.text("tool", "*");
      if (p.kind == "tool_fail") {
        p.tool.fail = r.probability("probability", std::nullopt);
        p.what = "fail " + percent(p.tool.fail) + " of the calls of tool " + p.tool.tool;
      } else {
        p.tool.stall = r.probability("probability", 1.0);
        p.tool.stall_for = milliseconds{r.integer("delay_ms", std::nullopt, 1, 600000)};
        p.what = "stall " + percent(p.tool.stall) + " of the calls of tool " + p.tool.tool + " by "
                 + std::to_string(p.tool.stall_for.count()) + " ms";
      }
    } else if (p.kind == "memory") {
      p.bytes = static_cast<uint64_t>(
        r.integer("bytes", std::nullopt, 1, static_cast<int64_t>(std::max<uint64_t>(1, cfg.max_memory_bytes))));
      p.what = "hold " + mib(p.bytes) + " of memory";
    } else {
      return std::string{"\"kind\" must be kill, drop, delay, tool_fail, tool_stall or memory"};
    }
    r.no_other_keys();
  } catch (const std::invalid_argument& e) {
    return std::string{e.what()};
  }
  return p;
}

supervision::child_spec chaos_spec(chaos_config cfg, std::shared_ptr<actors::fault_injection> faults,
                                   std::shared_ptr<actors::name_table> names,
                                   std::shared_ptr<metrics::metrics_registry> metrics) {
  supervision::child_spec spec;
  spec.id = "chaos";
  spec.start = [cfg, faults, names, metrics](const supervision::start_context& ctx) -> caf::expected<caf::actor> {
    return ctx.system.spawn<caf::detached>(chaos_fun, cfg, faults, names, metrics, ctx.path);
  };
  spec.optional = true;
  return spec;
}

} // namespace cafmcp::observability
