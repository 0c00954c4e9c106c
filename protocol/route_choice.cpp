// Which target the node's routing rules pick for one request: availability, refusal, metrics.
#include "protocol/route_choice.hpp"

#include <random>

#include "base/log.hpp"
#include "base/metrics.hpp"
#include "protocol/detail/endpoint_state.hpp"

namespace cafmcp::protocol {

using namespace detail;

std::shared_ptr<const route_table> routes_for(const endpoint_env& env, const request_sink& out) {
  if (!env.routes)
    return nullptr;
  auto kept = out.routes();
  return kept ? *kept : env.routes->current();
}

std::string target_label(const route_decision& d) {
  static metrics::label_cap targets{1000};
  return targets(d.target());
}

bool member_available(const endpoint_env& env, const std::string& member, std::chrono::steady_clock::time_point now) {
  if (!env.members || !env.members->reachable(member))
    return false;
  return !env.breakers || env.breakers->status(actors::peer_breaker(member), now).state != "open";
}

std::optional<route_decision> choose_route(const endpoint_env& env, const route_table& routes, std::string_view method,
                                           const std::string& name, const request_sink& out,
                                           const std::function<bool(const std::string&)>& local,
                                           const std::function<bool(const std::string&, const std::string&)>& on_member,
                                           const char* what) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  auto now = std::chrono::steady_clock::now();
  auto available = [&](const std::string& target, const std::string& member) {
    if (member.empty() || (env.members && member == env.members->me()))
      return local(target);
    return member_available(env, member, now) && (!on_member || on_member(target, member));
  };
  auto tenant = out.tenant();
  route_request req{tenant, method, name, [&out](const std::string& h) { return out.header(h); }};
  std::string unavailable;
  auto d = routes.decide(req, std::uniform_real_distribution<double>{0.0, 1.0}(rng), available, &unavailable);
  if (d && env.members && d->member == env.members->me())
    d->member.clear(); // a group naming this node: run here
  auto& m = env.route_metrics;
  if (!d) {
    if (unavailable.empty())
      return std::nullopt;
    if (m)
      m->counter("cafmcp_route_unavailable_total", "Calls a route refused: none of its targets or fallbacks was available",
                 {{"route", unavailable}}).inc();
    fail(mcp_code::unavailable,
         std::string{what} + " " + name + " is unavailable: none of the targets and fallbacks of route " + unavailable
           + " is available (down, or its circuit open)",
         json{{"route", unavailable}});
  }
  if (m) {
    m->counter("cafmcp_route_calls_total", "Calls routed, by route and target", {{"route", d->rule}, {"target", target_label(*d)}})
      .inc();
    if (d->fallback)
      m->counter("cafmcp_route_fallbacks_total", "Routed calls that went to a fallback (no target available)",
                 {{"route", d->rule}}).inc();
  }
  if (log::enabled(log::level::debug))
    log::debug("/root/protocol_sup", std::string{method} + " " + name + " routed by " + d->rule + " (rules version "
                                       + std::to_string(d->version) + ") to " + d->target()
                                       + (d->fallback ? " (fallback)" : ""));
  return d;
}

} // namespace cafmcp::protocol
