#pragma once
// What the endpoint's files share: request helpers, the Tasks extension check and the sinks requests are wrapped in.

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "actors/messages.hpp"
#include "protocol/endpoint.hpp"
#include "protocol/versions.hpp"

namespace cafmcp::protocol::detail {

using nlohmann::json;

[[noreturn]] inline void fail(int code, std::string message, json data = nullptr) {
  throw protocol_error{rpc_error{code, std::move(message), std::move(data)}};
}

/// Over a rate limit (`scope`: "client" or "tool:NAME"): the error every
/// transport answers (HTTP: 429 with Retry-After; the data says when).
inline rpc_error rate_limited_error(const std::string& scope, int64_t retry_after_ms) {
  auto who = scope == "client" ? std::string{"this client"} : scope.substr(0, 5) == "tool:" ? "tool " + scope.substr(5) : scope;
  return rpc_error{mcp_code::rate_limited,
                   "Rate limit exceeded for " + who + ": retry after " + std::to_string(retry_after_ms) + " ms",
                   json{{"retryAfterMs", retry_after_ms}, {"limit", scope}}};
}

inline const json& params_object(const rpc_message& msg) {
  static const json empty = json::object();
  return msg.params.is_object() ? msg.params : empty;
}

inline std::string required_string(const json& params, const char* key) {
  auto i = params.find(key);
  if (i == params.end())
    fail(rpc_code::invalid_params, std::string{"missing required parameter \""} + key + "\"");
  if (!i->is_string())
    fail(rpc_code::invalid_params, std::string{"parameter \""} + key + "\" must be a string");
  return i->get<std::string>();
}

inline void put_if(json& j, const char* key, const std::string& value) {
  if (!value.empty())
    j[key] = value;
}

inline json server_info(const server_identity& id) {
  json out{{"name", id.name}, {"version", id.version}};
  put_if(out, "title", id.title);
  return out;
}

inline constexpr const char* tasks_extension = "io.modelcontextprotocol/tasks";

/// True when the request's client capabilities declare the Tasks extension.
inline bool declares_tasks(const json& caps) {
  auto ext = caps.find("extensions");
  return ext != caps.end() && ext->is_object() && ext->contains(tasks_extension);
}

[[noreturn]] inline void fail_tasks_undeclared() {
  fail(mcp_code::missing_client_capability,
       std::string{"this request needs the "} + tasks_extension
         + " extension in params._meta clientCapabilities.extensions",
       json{{"requiredCapabilities", {{"extensions", {{tasks_extension, json::object()}}}}}});
}

/// A request id as a map key.
inline std::string id_key(const json& id) {
  return id.dump();
}

// -- sinks (endpoint_sinks.cpp) --------------------------------------------------

/// Collects the `expected` responses of a batch and sends them to `out` as one array.
sink_ptr make_batch_sink(sink_ptr out, size_t expected);

/// Counts a request and its duration (by method and outcome) when it is answered.
sink_ptr make_metered_sink(sink_ptr inner, std::shared_ptr<metrics::metrics_registry> m, const std::string& method);

/// Ends the request's span `s` with its outcome when it is answered.
sink_ptr make_traced_sink(sink_ptr inner, trace::span s);

/// Where task `id`'s call reports: progress becomes its status message,
/// the response completes or fails it.
sink_ptr make_task_sink(std::weak_ptr<task_registry> tasks, std::string id);

// -- records (legacy_sessions.cpp) ------------------------------------------------

/// Asks `sm` for record `id` from a short-lived actor (callers are I/O
/// threads: they must not block); `done` gets it, or nullopt on any error.
void fetch_record(const caf::actor& sm, const std::string& id,
                  std::function<void(std::optional<actors::session_record>)> done);

} // namespace cafmcp::protocol::detail
