// Tier 1: core_sup and its children's specs.
#include "actors/core_sup.hpp"

#include <cmath>
#include <stdexcept>

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
    {"circuit_breaker", value_type::object, {}, "circuit breakers per tool and per peer", {}, {}, {},
     {
       {"enabled", value_type::boolean, true,
        "tool calls go through their tool's breaker, forwards to a primary through that member's; an open one refuses at once", {}, {}, {}, {}},
       {"failure_threshold", value_type::integer, 5, "consecutive failures that open a circuit", 1,
        {}, {}, {}},
       {"open_timeout_ms", value_type::integer, 30000, "time an open circuit waits before a trial call",
        1, {}, {}, {}},
       {"half_open_max_calls", value_type::integer, 1, "trial calls let through while half open", 1,
        {}, {}, {}},
     }},
    {"rate_limiter", value_type::object, {}, "rate limits on MCP requests (token buckets)", {}, {}, {},
     {
       {"enabled", value_type::boolean, false,
        "limit each client's MCP requests (key: token subject, else legacy session, else address)", {}, {}, {}, {}},
       {"capacity", value_type::number, 100, "a client's bucket size (burst)", 1, {}, {}, {}},
       {"refill_per_second", value_type::number, 50, "a client's requests per second", 0.001, {}, {}, {}},
       {"max_keys", value_type::integer, 10000,
        "client buckets held at most; past it new clients share one bucket", 1, 10000000, {}, {}},
       {"tools", value_type::string_list, nlohmann::json::array(),
        "per-tool limits over all clients, \"NAME=CAPACITY/PER_SECOND\" (e.g. \"search=20/5\")", {}, {}, {}, {}},
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
  breaker_config breaker;
  breaker.failure_threshold = b.at("failure_threshold").get<uint32_t>();
  breaker.open_timeout = milliseconds{b.at("open_timeout_ms").get<int64_t>()};
  breaker.half_open_max_calls = b.at("half_open_max_calls").get<uint32_t>();
  out.breakers = std::make_shared<breaker_table>(breaker, b.at("enabled").get<bool>());
  auto& r = v.at("rate_limiter");
  rate_limit_config rates;
  if (r.at("enabled").get<bool>())
    rates.client = bucket_config{r.at("capacity").get<double>(), r.at("refill_per_second").get<double>()};
  rates.max_keys = r.at("max_keys").get<size_t>();
  auto tools = r.at("tools").get<std::vector<std::string>>();
  for (size_t i = 0; i < tools.size(); ++i) {
    try {
      auto [name, bucket] = parse_tool_rate(tools[i]);
      if (!rates.tools.emplace(name, bucket).second)
        throw std::invalid_argument("tool " + name + " has a limit already");
    } catch (const std::invalid_argument& e) {
      throw config::config_error("rate_limiter.tools[" + std::to_string(i) + "]", e.what());
    }
  }
  out.limits = std::make_shared<rate_limits>(std::move(rates));
  return out;
}

bucket_config parse_rate(const std::string& text) {
  auto fail = [&text] {
    throw std::invalid_argument("must be CAPACITY/PER_SECOND with CAPACITY >= 1 and PER_SECOND >= 0.001, got \""
                                + text + "\"");
  };
  auto slash = text.find('/');
  if (slash == std::string::npos)
    fail();
  auto number = [&](const std::string& part) {
    size_t used = 0;
    double x = 0;
    try {
      x = std::stod(part, &used);
    } catch (const std::exception&) {
      fail();
    }
    if (used != part.size())
      fail();
    return x;
  };
  bucket_config b{number(text.substr(0, slash)), number(text.substr(slash + 1))};
  if (!check(b).empty())
    fail();
  return b;
}

std::pair<std::string, bucket_config> parse_tool_rate(const std::string& entry) {
  auto eq = entry.rfind('=');
  try {
    if (eq == std::string::npos || eq == 0 || entry.find('/', eq) == std::string::npos)
      throw std::invalid_argument("");
    return {entry.substr(0, eq), parse_rate(entry.substr(eq + 1))};
  } catch (const std::invalid_argument&) {
    throw std::invalid_argument("must be NAME=CAPACITY/PER_SECOND with CAPACITY >= 1 and PER_SECOND >= 0.001 "
                                "(e.g. \"search=20/5\"), got \"" + entry + "\"");
  }
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
                                         registered(circuit_breakers_spec(cfg.breakers), names),
                                         registered(rate_limiter_spec(cfg.limits), names),
                                       });
}

} // namespace cafmcp::actors
