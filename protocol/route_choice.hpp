#pragma once
// Which target the node's routing rules pick for one request (tools/call, prompts/get, resources/read).

// The decision itself is route_table's; here is what a node adds: which
// targets are available (here, or on another member), the refusal when a
// matching rule has none (-32031), and the routing metrics.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/endpoint.hpp"

namespace cafmcp::protocol {

/// The table a request is decided by: the one its transport kept headers
/// for, else the node's current one (null: no rules).
std::shared_ptr<const route_table> routes_for(const endpoint_env& env, const request_sink& out);

/// The `target` label of a routed request's metrics: its target, kept to
/// the first 1000 distinct ones (the name may come from the client: a rule
/// over `*` or a URI glob), later ones read "other".
std::string target_label(const route_decision& d);

/// Whether another member can take a routed request now: up, reachable,
/// and its relays' circuit (peer:NAME) not open.
bool member_available(const endpoint_env& env, const std::string& member, std::chrono::steady_clock::time_point now);

/// The rule and target for `method` of `name` (nullopt: no rule matches,
/// it goes where it is named). `local(name)`: whether `name` can serve it
/// here; `on_member(name, member)`: whether there (besides
/// member_available). A group naming this node runs it here (no member in
/// the decision). Throws the -32031 protocol error when the matching rule
/// has nothing available; `what` ("Tool", "Prompt") starts its message.
std::optional<route_decision> choose_route(const endpoint_env& env, const route_table& routes, std::string_view method,
                                           const std::string& name, const request_sink& out,
                                           const std::function<bool(const std::string&)>& local,
                                           const std::function<bool(const std::string&, const std::string&)>& on_member,
                                           const char* what);

} // namespace cafmcp::protocol
