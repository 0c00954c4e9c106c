// Tier 1: core_sup and its children's specs.
#include "actors/core_sup.hpp"

#include <nlohmann/json.hpp>

#include "actors/circuit_breakers.hpp"
#include "actors/rate_limiter.hpp"
#include "actors/registry.hpp"
#include "supervision/supervisor.hpp"

namespace cafmcp::actors {

namespace {

using config::field;
using config::value_type;

} // namespace

supervision::child_spec registered(supervision::child_spec spec, std::shared_ptr<name_table> names) {
  auto start = spec.start;
  auto name = spec.id;
  spec.start = [start, name, names](const supervision::start_context& ctx) -> caf::expected<caf::actor> {
    auto h = start(ctx);
    if (h && *h)
      names->assign(name, *h);
    return h;
  };
  return spec;
}

std::vector<field> core_config_schema() {
  return {
    {"sessions", value_type::object, {}, "session records (tier 1)", {}, {}, {},
     {
       {"ttl_ms", value_type::integer, 1800000, "idle time after which a session expires", 1, {}, {}, {}},
       {"sweep_interval_ms", value_type::integer, 1000, "how often expired sessions are removed", 1,
        3600000, {}, {}},
     }},
    {"circuit_breaker", value_type::object, {}, "circuit breakers per key", {}, {}, {},
     {
       {"failure_threshold", value_type::integer, 5, "consecutive failures that open a circuit", 1,
        {}, {}, {}},
       {"open_timeout_ms", value_type::integer, 30000, "time an open circuit waits before a trial call",
        1, {}, {}, {}},
       {"half_open_max_calls", value_type::integer, 1, "trial calls let through while half open", 1,
        {}, {}, {}},
     }},
    {"rate_limiter", value_type::object, {}, "token buckets per key", {}, {}, {},
     {
       {"capacity", value_type::number, 100, "bucket size (burst)", 1, {}, {}, {}},
       {"refill_per_second", value_type::number, 50, "tokens added per second", 0.001, {}, {}, {}},
     }},
  };
}

core_config core_config_from(const nlohmann::json& v) {
  using std::chrono::milliseconds;
  core_config out;
  auto& s = v.at("sessions");
  out.sessions.ttl = milliseconds{s.at("ttl_ms").get<int64_t>()};
  out.sessions.sweep_interval = milliseconds{s.at("sweep_interval_ms").get<int64_t>()};
  auto& b = v.at("circuit_breaker");
  out.breaker.failure_threshold = b.at("failure_threshold").get<uint32_t>();
  out.breaker.open_timeout = milliseconds{b.at("open_timeout_ms").get<int64_t>()};
  out.breaker.half_open_max_calls = b.at("half_open_max_calls").get<uint32_t>();
  auto& r = v.at("rate_limiter");
  out.bucket.capacity = r.at("capacity").get<double>();
  out.bucket.refill_per_second = r.at("refill_per_second").get<double>();
  return out;
}

const std::vector<std::string>& core_actor_names() {
  static const std::vector<std::string> names{"registry", "session_manager", "circuit_breakers",
                                              "rate_limiter"};
  return names;
}

supervision::child_spec core_supervisor(const core_config& cfg, std::shared_ptr<name_table> names) {
  return supervision::supervisor_child("core_sup", cfg.flags,
                                       {
                                         registered(registry_spec(names), names),
                                         registered(session_manager_spec(cfg.sessions), names),
                                         registered(circuit_breakers_spec(cfg.breaker), names),
                                         registered(rate_limiter_spec(cfg.bucket), names),
                                       });
}

} // namespace cafmcp::actors
