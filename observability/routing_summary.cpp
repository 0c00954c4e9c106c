// The dashboard's view of routing and upstream servers, from their counters.
#include "observability/routing_summary.hpp"

namespace cafmcp::observability {

using nlohmann::json;

nlohmann::json routing_summary(const metrics::metrics_registry& m) {
  auto label = [](const metrics::metric_labels& labels, const char* key) {
    for (auto& [k, v] : labels)
      if (k == key)
        return v;
    return std::string{};
  };
  json routes = json::object();
  auto route = [&](const std::string& id) -> json& {
    if (!routes.contains(id))
      routes[id] = {{"route", id}, {"targets", json::object()}, {"failed", json::object()}, {"fallbacks", 0},
                    {"unavailable", 0}};
    return routes[id];
  };
  for (auto& [labels, v] : m.counter_values("cafmcp_route_calls_total"))
    route(label(labels, "route"))["targets"][label(labels, "target")] = v;
  for (auto& [labels, v] : m.counter_values("cafmcp_route_errors_total"))
    route(label(labels, "route"))["failed"][label(labels, "target")] = v;
  for (auto& [labels, v] : m.counter_values("cafmcp_route_fallbacks_total"))
    route(label(labels, "route"))["fallbacks"] = v;
  for (auto& [labels, v] : m.counter_values("cafmcp_route_unavailable_total"))
    route(label(labels, "route"))["unavailable"] = v;
  json upstreams = json::object();
  auto upstream = [&](const std::string& name) -> json& {
    if (!upstreams.contains(name))
      upstreams[name] = {{"upstream", name}, {"ok", 0}, {"error", 0}, {"cancelled", 0}, {"starts", 0}};
    return upstreams[name];
  };
  for (auto& [labels, v] : m.counter_values("cafmcp_upstream_calls_total"))
    upstream(label(labels, "upstream"))[label(labels, "outcome")] = v;
  for (auto& [labels, v] : m.counter_values("cafmcp_upstream_starts_total"))
    upstream(label(labels, "upstream"))["starts"] = v;
  json out{{"routes", json::array()}, {"upstreams", json::array()}};
  for (auto& [id, r] : routes.items())
    out["routes"].push_back(r);
  for (auto& [name, u] : upstreams.items())
    out["upstreams"].push_back(u);
  return out;
}

} // namespace cafmcp::observability
