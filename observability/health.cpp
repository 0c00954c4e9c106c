// The health checker (tier 3): are the core actors answering?
#include "observability/health.hpp"

#include "actors/core_sup.hpp"

#include <caf/all.hpp>

#include "base/log.hpp"
#include "supervision/supervisor.hpp"
#include "supervision/worker.hpp"

namespace cafmcp::observability {

namespace {

using check_atom = caf::atom_constant<caf::atom("ob_check")>;

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

health_report run_checks(const health_config& cfg, const actors::name_table& names) {
  health_report out;
  out.checked_at_ms = now_ms();
  out.status = "healthy";
  for (auto& name : cfg.required_actors) {
    auto h = names.lookup(name);
    health_check c{"actor:" + name, static_cast<bool>(h),
                   h ? "running as actor " + std::to_string(h.id()) : "not running"};
    if (!c.ok)
      out.status = "degraded";
    out.checks.push_back(std::move(c));
  }
  return out;
}

struct health_state {
  health_report last;
};

caf::behavior health_actor(caf::stateful_actor<health_state>* self, health_config cfg,
                           std::shared_ptr<actors::name_table> names, std::string path) {
  self->state.last = run_checks(cfg, *names);
  self->delayed_send(self, cfg.interval, check_atom::value);
  return {
    [=](check_atom) {
      auto next = run_checks(cfg, *names);
      if (next.status != self->state.last.status) {
        std::string failing;
        for (auto& c : next.checks)
          if (!c.ok)
            failing += (failing.empty() ? "" : ", ") + c.name;
        if (next.status == "healthy")
          log::info(path, "node healthy again");
        else
          log::warning(path, "node degraded: " + failing);
      }
      self->state.last = std::move(next);
      self->delayed_send(self, cfg.interval, check_atom::value);
    },
    [=](health_atom) { return run_checks(cfg, *names); },
  };
}

} // namespace

supervision::child_spec health_spec(health_config cfg, std::shared_ptr<actors::name_table> names) {
  return supervision::worker_child("health", health_actor, cfg, names);
}

supervision::child_spec observability_supervisor(health_config cfg, std::shared_ptr<actors::name_table> names,
                                                 std::vector<supervision::child_spec> extra,
                                                 supervision::backoff_policy backoff) {
  using namespace std::chrono_literals;
  auto health = actors::registered(health_spec(cfg, names), names); // the web endpoint asks it by name
  health.shutdown = supervision::shutdown_spec::after(1000ms);
  std::vector<supervision::child_spec> children{health};
  for (auto& c : extra)
    children.push_back(std::move(c));
  auto spec = supervision::supervisor_child(
    "observability_sup", supervision::supervisor_flags{supervision::strategy::one_for_one, 10, 10000ms},
    std::move(children));
  spec.backoff = backoff;
  return spec;
}

void register_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<health_check>("cafmcp.health_check");
  cfg.add_message_type<std::vector<health_check>>("cafmcp.health_check_list");
  cfg.add_message_type<health_report>("cafmcp.health_report");
}

} // namespace cafmcp::observability
