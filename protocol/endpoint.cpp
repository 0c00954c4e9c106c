// One MCP connection's dispatch: decoding, both protocol eras, and the methods that need no file of their own.
#include "protocol/endpoint.hpp"

#include "protocol/detail/endpoint_state.hpp"
#include "protocol/tool_runner.hpp"
#include "protocol/versions.hpp"

namespace cafmcp::protocol {

using namespace detail;

endpoint_env endpoint_env::serving(std::shared_ptr<const protocol::catalog> cat, task_config tasks) {
  endpoint_env env;
  auto hub = std::make_shared<notification_hub>();
  env.catalog = std::make_shared<catalog_store>(std::move(cat), hub);
  env.tasks = std::make_shared<task_registry>(tasks, hub);
  env.sealer = std::make_shared<request_state_sealer>();
  return env;
}

endpoint::endpoint(endpoint_env env)
  : env_(std::move(env)), server_info_(server_info(env_.catalog->snapshot()->identity())) {
}

endpoint::~endpoint() {
  auto& hub = env_.hub();
  if (legacy_sub_ != 0)
    hub->unsubscribe(legacy_sub_);
  for (auto& [key, l] : listens_)
    hub->unsubscribe(l.sub);
}

void endpoint::set_push(std::function<void(const json&)> push) {
  std::lock_guard<std::mutex> guard{mtx_};
  push_ = std::move(push);
}

void endpoint::push(const json& notification) {
  std::function<void(const json&)> p;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    p = push_;
  }
  if (p)
    p(notification);
}

std::optional<legacy_session> endpoint::session() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return session_;
}

void endpoint::adopt(legacy_session s) {
  std::lock_guard<std::mutex> guard{mtx_};
  session_ = std::move(s);
}

void endpoint::cancel(const json& id) {
  auto key = id_key(id);
  uint64_t sub = 0;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (auto i = running_.find(key); i != running_.end()) {
      i->second->store(true);
      running_.erase(i);
    }
    inputs_.erase(key);
    if (auto i = listens_.find(key); i != listens_.end()) {
      sub = i->second.sub;
      listens_.erase(i);
    }
  }
  if (sub != 0)
    env_.hub()->unsubscribe(sub); // the client ended its listen stream
}

void endpoint::cancel_all() {
  std::map<std::string, listen_entry> listens;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& [id, flag] : running_)
      flag->store(true);
    running_.clear();
    inputs_.clear();
    listens.swap(listens_);
  }
  for (auto& [key, l] : listens)
    env_.hub()->unsubscribe(l.sub);
}

// -- entry points ---------------------------------------------------------------

size_t endpoint::handle_text(std::string_view text, const sink_ptr& out) {
  nlohmann::json v;
  if (auto err = parse(text, v)) {
    out->respond(make_error(nullptr, *err));
    return 1;
  }
  return handle_value(v, out);
}

size_t endpoint::expected_responses(const nlohmann::json& v, bool allow_batch) {
  auto d = decode_parsed(v, allow_batch);
  for (auto& item : d.items)
    if (needs_response(item))
      return 1; // one response, or one array for a batch
  return 0;
}

size_t endpoint::handle_value(const nlohmann::json& v, const sink_ptr& out) {
  auto s = session();
  auto d = decode_parsed(v, s && allows_batch(s->protocol_version));
  if (!d.batch) {
    auto& item = d.items.front();
    if (item.error) {
      out->respond(make_error(item.error_id, *item.error));
      return 1;
    }
    handle(*item.message, out);
    return needs_response(item) ? 1 : 0;
  }
  // A batch: one array with a response per request (none for notifications).
  size_t expected = 0;
  for (auto& item : d.items)
    if (needs_response(item))
      ++expected;
  if (expected == 0) {
    for (auto& item : d.items)
      handle(*item.message, out);
    return 0;
  }
  auto collector = make_batch_sink(out, expected);
  for (auto& item : d.items) {
    if (item.error)
      collector->respond(make_error(item.error_id, *item.error));
    else if (item.message->kind == message_kind::request && item.message->method == "initialize")
      collector->respond(make_error(item.message->id,
                                    rpc_error{rpc_code::invalid_request,
                                              "initialize must not be part of a batch", nullptr}));
    else
      handle(*item.message, collector);
  }
  return 1; // one array
}

sink_ptr endpoint::traced(const rpc_message& msg, sink_ptr sink) const {
  auto parent = sink->trace_context();
  bool under_transport = parent.valid(); // else this is the request's first span
  if (!parent.valid() && msg.params.is_object()) {
    // Transports without headers (stdio) carry the context in params._meta,
    // under the W3C header names.
    auto meta = msg.params.find("_meta");
    if (meta != msg.params.end() && meta->is_object()) {
      auto text = [&](const char* key) {
        auto i = meta->find(key);
        return i != meta->end() && i->is_string() ? i->get<std::string>() : std::string{};
      };
      parent = trace::from_carriers(text("traceparent"), text("tracestate"), text("baggage"));
    }
  }
  auto s = trace::start_span(msg.method.empty() ? std::string{"mcp request"} : msg.method,
                             under_transport ? trace::span_kind::internal : trace::span_kind::server, parent);
  if (s.recording()) {
    s.set("mcp.method.name", msg.method);
    if (!msg.id.is_null())
      s.set("jsonrpc.request.id", msg.id.is_string() ? msg.id.get<std::string>() : msg.id.dump());
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (session_) {
        s.set("mcp.session.id", session_->id);
        s.set("mcp.protocol.version", session_->protocol_version);
      }
    }
    if (msg.method == "tools/call" || msg.method == "prompts/get")
      if (auto p = msg.params.find("name"); p != msg.params.end() && p->is_string())
        s.set(msg.method == "tools/call" ? "gen_ai.tool.name" : "gen_ai.prompt.name", p->get<std::string>());
  }
  return make_traced_sink(std::move(sink), std::move(s));
}

void endpoint::handle(const rpc_message& msg, const sink_ptr& sink) {
  if (msg.kind == message_kind::response)
    return handle_input_response(msg);
  if (msg.kind == message_kind::notification) {
    handle_notification(msg);
    return;
  }
  sink_ptr out = env_.metrics ? make_metered_sink(sink, env_.metrics, msg.method) : sink;
  if (trace::enabled())
    out = traced(msg, std::move(out));
  bool limited = sink->limited();
  if (limited && env_.limits && env_.limits->client_limited()) {
    auto d = env_.limits->take_client(client_key(*sink), std::chrono::steady_clock::now());
    if (!d.allowed) {
      out->respond(make_error(msg.id, rate_limited_error("client", d.retry_after_ms)));
      return;
    }
  }
  if (limited && env_.tenants) {
    auto tenant = sink->tenant();
    if (auto wait = env_.tenants->take(tenant, std::chrono::steady_clock::now()); wait > 0) {
      out->respond(make_error(msg.id, rate_limited_error("tenant " + tenant, wait)));
      return;
    }
  }
  try {
    auto& params = params_object(msg);
    auto meta = params.find("_meta");
    if (meta != params.end() && meta->is_object() && meta->contains(meta_key::protocol_version))
      handle_modern(msg, *meta, out);
    else
      handle_legacy(msg, out);
  } catch (const protocol_error& e) {
    out->respond(make_error(msg.id, e.err));
  } catch (const std::exception& e) {
    out->respond(make_error(msg.id, rpc_error{rpc_code::internal_error, e.what(), nullptr}));
  }
}

std::string endpoint::client_key(const request_sink& sink) const {
  if (auto who = sink.subject(); !who.empty())
    return "subject:" + who;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (session_)
      return "session:" + session_->id;
  }
  if (auto address = sink.client_address(); !address.empty())
    return "address:" + address;
  return "local";
}

void endpoint::handle_notification(const rpc_message& msg) {
  auto& params = params_object(msg);
  if (msg.method == "notifications/initialized") {
    std::lock_guard<std::mutex> guard{mtx_};
    if (session_)
      session_->initialized = true;
  } else if (msg.method == "notifications/cancelled") {
    auto id = params.find("requestId");
    if (id == params.end())
      return; // invalid cancellations are ignored
    cancel(*id); // a call stops; a listen stream ends (stdio)
  }
  // Other notifications (roots/list_changed, progress …) need no action.
}

// -- modern (2026-07-28) --------------------------------------------------------

json endpoint::modern_result(json result, bool cacheable, bool shared) const {
  if (!result.contains("resultType"))
    result["resultType"] = "complete";
  result["_meta"][meta_key::server_info] = server_info_;
  if (cacheable) {
    result["ttlMs"] = env_.list_ttl.count();
    result["cacheScope"] = shared ? "public" : "private";
  }
  return result;
}

void endpoint::handle_modern(const rpc_message& msg, const json& meta, const sink_ptr& out) {
  auto& version = meta[meta_key::protocol_version];
  if (!version.is_string())
    fail(rpc_code::invalid_params,
         std::string{"params._meta[\""} + meta_key::protocol_version + "\"] must be a string");
  if (!is_modern(version.get<std::string>()))
    fail(mcp_code::unsupported_protocol_version, "Unsupported protocol version",
         json{{"supported", all_versions()}, {"requested", version}});
  auto caps = meta.find(meta_key::client_capabilities);
  if (caps == meta.end() || !caps->is_object())
    fail(rpc_code::invalid_params, std::string{"missing required params._meta[\""}
                                     + meta_key::client_capabilities + "\"] (an object)");
  if (env_.refusal)
    if (auto why = env_.refusal())
      fail(mcp_code::node_fenced, *why);
  if (auto level = meta.find(meta_key::log_level); level != meta.end())
    if (!level->is_string() || log_severity(level->get<std::string>()) < 0)
      fail(rpc_code::invalid_params, std::string{"params._meta[\""} + meta_key::log_level
                                       + "\"] must be a log level (debug … emergency)");
  auto& m = msg.method;
  if (m == "server/discover") {
    auto cat = env_.catalog->snapshot();
    auto& id = cat->identity();
    json result{{"supportedVersions", all_versions()},
                {"capabilities",
                 {{"tools", {{"listChanged", true}}},
                  {"resources", {{"subscribe", true}, {"listChanged", true}}},
                  {"prompts", {{"listChanged", true}}},
                  {"completions", json::object()},
                  {"extensions", {{tasks_extension, json::object()}}}}}};
    put_if(result, "instructions", id.instructions);
    out->respond(make_result(msg.id, modern_result(std::move(result), true)));
    return;
  }
  if (m == "subscriptions/listen")
    return listen(msg, *caps, out);
  if (m == "tasks/get" || m == "tasks/update" || m == "tasks/cancel") {
    if (!declares_tasks(*caps))
      fail_tasks_undeclared();
    return handle_task_method(msg, out);
  }
  if (!handle_common(msg, true, out))
    fail(rpc_code::method_not_found, "Method not found: " + m, json{{"method", m}});
}

// -- legacy (2024-11-05 … 2025-11-25): initialize is in legacy_sessions.cpp ------

void endpoint::handle_legacy(const rpc_message& msg, const sink_ptr& out) {
  auto& m = msg.method;
  if (m == "initialize")
    return initialize(msg, out);
  if (m == "ping") {
    out->respond(make_result(msg.id, json::object()));
    return;
  }
  if (!session()) {
    fail(rpc_code::invalid_params,
         "no session: send initialize first, or (MCP 2026-07-28) give every request "
         "params._meta[\"" + std::string{meta_key::protocol_version} + "\"] and [\""
           + meta_key::client_capabilities + "\"]");
  }
  renew_session();
  if (env_.refusal)
    if (auto why = env_.refusal())
      fail(mcp_code::node_fenced, *why);
  auto& params = params_object(msg);
  if (m == "logging/setLevel") {
    auto level = required_string(params, "level");
    if (log_severity(level) < 0)
      fail(rpc_code::invalid_params, "unknown log level " + level);
    {
      std::lock_guard<std::mutex> guard{mtx_};
      session_->log_level = level;
    }
    save_session();
    out->respond(make_result(msg.id, json::object()));
    return;
  }
  if (m == "resources/subscribe" || m == "resources/unsubscribe") {
    auto uri = required_string(params, "uri");
    auto cat = env_.catalog->snapshot();
    if (!resource_visible(*cat, uri, out->tenant()))
      fail(mcp_code::resource_not_found_legacy, "Resource not found", json{{"uri", uri}});
    if (m == "resources/subscribe")
      subscribe_upstream(*cat, uri);
    uint64_t sub = 0;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (m == "resources/subscribe")
        session_->subscriptions.insert(uri);
      else
        session_->subscriptions.erase(uri);
      sub = legacy_sub_;
    }
    bool add = m == "resources/subscribe";
    env_.hub()->update(sub, [&](subscription_filter& f) {
      if (add)
        f.resource_uris.insert(uri);
      else
        f.resource_uris.erase(uri);
    });
    save_session();
    out->respond(make_result(msg.id, json::object()));
    return;
  }
  if (!handle_common(msg, false, out))
    fail(rpc_code::method_not_found, "Method not found: " + m, json{{"method", m}});
}

} // namespace cafmcp::protocol
