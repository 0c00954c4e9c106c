#include "protocol/endpoint.hpp"

#include <tuple>

#include <caf/all.hpp>

#include "actors/messages.hpp"
#include "actors/session_manager.hpp"
#include "base/crypto.hpp"
#include "protocol/json_schema.hpp"
#include "protocol/tool_runner.hpp"
#include "protocol/versions.hpp"
#include "supervision/messages.hpp"

namespace cafmcp::protocol {

namespace {

using nlohmann::json;

[[noreturn]] void fail(int code, std::string message, json data = nullptr) {
  throw protocol_error{rpc_error{code, std::move(message), std::move(data)}};
}

/// A legacy session's protocol state as its record keeps it (so another
/// node can serve the session after this one is gone).
std::string session_info(const legacy_session& s) {
  return json{{"kind", "legacy_session"},
              {"protocolVersion", s.protocol_version},
              {"clientInfo", s.client_info},
              {"capabilities", s.client_capabilities},
              {"logLevel", s.log_level},
              {"subscriptions", s.subscriptions}}
    .dump();
}

std::optional<legacy_session> session_from_info(const std::string& id, const std::string& info) {
  auto j = json::parse(info, nullptr, false);
  if (!j.is_object() || j.value("kind", "") != "legacy_session" || !j["protocolVersion"].is_string())
    return std::nullopt;
  legacy_session s;
  s.id = id;
  s.protocol_version = j["protocolVersion"].get<std::string>();
  s.client_info = j.value("clientInfo", json::object());
  s.client_capabilities = j.value("capabilities", json::object());
  s.initialized = true; // a client that comes back has finished its handshake
  s.log_level = j.value("logLevel", "");
  if (j["subscriptions"].is_array())
    for (auto& u : j["subscriptions"])
      if (u.is_string())
        s.subscriptions.insert(u.get<std::string>());
  return s;
}

const json& params_object(const rpc_message& msg) {
  static const json empty = json::object();
  return msg.params.is_object() ? msg.params : empty;
}

std::string required_string(const json& params, const char* key) {
  auto i = params.find(key);
  if (i == params.end())
    fail(rpc_code::invalid_params, std::string{"missing required parameter \""} + key + "\"");
  if (!i->is_string())
    fail(rpc_code::invalid_params, std::string{"parameter \""} + key + "\" must be a string");
  return i->get<std::string>();
}

// -- pagination: the cursor is the offset of the next page, hex-encoded with
// a tag so that a cursor from another list or a made-up one is refused.

std::string encode_cursor(const std::string& list, size_t offset) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string raw = list + ":" + std::to_string(offset), out;
  for (unsigned char c : raw) {
    out += hex[c >> 4];
    out += hex[c & 0x0f];
  }
  return out;
}

size_t decode_cursor(const std::string& list, const json& params) {
  auto i = params.find("cursor");
  if (i == params.end() || i->is_null())
    return 0;
  if (!i->is_string())
    fail(rpc_code::invalid_params, "Invalid cursor");
  auto& c = i->get_ref<const std::string&>();
  std::string raw;
  if (c.size() % 2 != 0)
    fail(rpc_code::invalid_params, "Invalid cursor");
  for (size_t k = 0; k < c.size(); k += 2) {
    auto nib = [&](char x) -> int {
      if (x >= '0' && x <= '9') return x - '0';
      if (x >= 'a' && x <= 'f') return x - 'a' + 10;
      fail(rpc_code::invalid_params, "Invalid cursor");
    };
    raw += static_cast<char>(nib(c[k]) * 16 + nib(c[k + 1]));
  }
  auto prefix = list + ":";
  if (raw.rfind(prefix, 0) != 0)
    fail(rpc_code::invalid_params, "Invalid cursor");
  auto digits = raw.substr(prefix.size());
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos
      || digits.size() > 9)
    fail(rpc_code::invalid_params, "Invalid cursor");
  return std::stoul(digits);
}

template <class T, class F>
json page(const std::vector<T>& items, const std::string& list, const json& params, size_t page_size,
          F to_json) {
  auto offset = decode_cursor(list, params);
  if (offset > items.size())
    fail(rpc_code::invalid_params, "Invalid cursor");
  json out{{list, json::array()}};
  auto end = std::min(items.size(), offset + page_size);
  for (auto i = offset; i < end; ++i)
    out[list].push_back(to_json(items[i]));
  if (end < items.size())
    out["nextCursor"] = encode_cursor(list, end);
  return out;
}

void put_if(json& j, const char* key, const std::string& value) {
  if (!value.empty())
    j[key] = value;
}

json server_info(const server_identity& id) {
  json out{{"name", id.name}, {"version", id.version}};
  put_if(out, "title", id.title);
  return out;
}

constexpr const char* tasks_extension = "io.modelcontextprotocol/tasks";

/// True when the request's client capabilities declare the Tasks extension.
bool declares_tasks(const json& caps) {
  auto ext = caps.find("extensions");
  return ext != caps.end() && ext->is_object() && ext->contains(tasks_extension);
}

[[noreturn]] void fail_tasks_undeclared() {
  fail(mcp_code::missing_client_capability,
       std::string{"this request needs the "} + tasks_extension
         + " extension in params._meta clientCapabilities.extensions",
       json{{"requiredCapabilities", {{"extensions", {{tasks_extension, json::object()}}}}}});
}

const char* input_required_note = "input_required";

constexpr size_t max_waiting_inputs = 64; // legacy calls of one session waiting for the client

std::string id_key(const json& id) {
  return id.dump();
}

} // namespace

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

namespace {

/// Collects the responses of a batch and sends them as one array.
class batch_sink : public request_sink {
public:
  batch_sink(sink_ptr out, size_t expected) : out_(std::move(out)), expected_(expected) {}

  void notify(const json& n) override { out_->notify(n); }

  void respond(const json& r) override {
    std::unique_lock<std::mutex> guard{mtx_};
    responses_.push_back(r);
    if (responses_.size() == expected_) {
      auto all = std::move(responses_);
      guard.unlock();
      out_->respond(all);
    }
  }

private:
  sink_ptr out_;
  size_t expected_;
  std::mutex mtx_;
  json responses_ = json::array();
};

} // namespace

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
  auto collector = std::make_shared<batch_sink>(out, expected);
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

namespace {

/// The method as a metric label: MCP's own, or "other" (a client must not
/// be able to create series at will).
const std::string& method_label(const std::string& m) {
  static const std::set<std::string> known{
    "initialize", "ping", "server/discover", "tools/list", "tools/call", "resources/list", "resources/read",
    "resources/templates/list", "resources/subscribe", "resources/unsubscribe", "prompts/list", "prompts/get",
    "completion/complete", "logging/setLevel", "subscriptions/listen", "tasks/get", "tasks/update", "tasks/cancel"};
  static const std::string other = "other";
  auto i = known.find(m);
  return i == known.end() ? other : *i;
}

/// Counts a request and its duration when it is answered.
class metered_sink : public request_sink {
public:
  metered_sink(sink_ptr inner, std::shared_ptr<metrics::metrics_registry> m, const std::string& method)
    : inner_(std::move(inner)), metrics_(std::move(m)), method_(method_label(method)),
      started_(std::chrono::steady_clock::now()) {}

  void notify(const json& n) override { inner_->notify(n); }
  std::string correlation_id() const override { return inner_->correlation_id(); }
  trace::context trace_context() const override { return inner_->trace_context(); }

  void respond(const json& r) override {
    const char* outcome = outcome_of(r);
    auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    // Per thread, each series is looked up once: then recording is two atomic adds.
    struct series {
      metrics::counter_series* count;
      metrics::histogram_series* duration;
    };
    thread_local std::map<std::tuple<uint64_t, std::string, std::string>, series> cache;
    auto key = std::make_tuple(metrics_->id(), method_, std::string{outcome});
    auto i = cache.find(key);
    if (i == cache.end()) {
      series s{&metrics_->counter("cafmcp_requests_total", "MCP requests answered, by method and outcome",
                                  {{"method", method_}, {"outcome", outcome}}),
               &metrics_->histogram("cafmcp_request_duration_seconds", "Time from a request to its answer",
                                    {{"method", method_}}, metrics::metrics_registry::latency_buckets())};
      i = cache.emplace(key, s).first;
    }
    i->second.count->inc();
    i->second.duration->observe(took);
    inner_->respond(r);
  }

private:
  sink_ptr inner_;
  std::shared_ptr<metrics::metrics_registry> metrics_;
  std::string method_;
  std::chrono::steady_clock::time_point started_;
};

/// The request's span (the MCP request as its session, or the stateless
/// endpoint, serves it): from dispatch to its answer, failed when the
/// answer is a JSON-RPC error or a tool error.
class traced_sink : public request_sink {
public:
  traced_sink(sink_ptr inner, trace::span s) : inner_(std::move(inner)), span_(std::move(s)) {}

  void notify(const json& n) override { inner_->notify(n); }
  std::string correlation_id() const override { return inner_->correlation_id(); }
  trace::context trace_context() const override { return span_.ctx(); }

  void respond(const json& r) override {
    record_outcome(span_, r);
    span_.end();
    inner_->respond(r);
  }

private:
  sink_ptr inner_;
  trace::span span_;
};

} // namespace

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
  return std::make_shared<traced_sink>(std::move(sink), std::move(s));
}

void endpoint::handle(const rpc_message& msg, const sink_ptr& sink) {
  if (msg.kind == message_kind::response)
    return handle_input_response(msg);
  if (msg.kind == message_kind::notification) {
    handle_notification(msg);
    return;
  }
  sink_ptr out = env_.metrics ? sink_ptr{std::make_shared<metered_sink>(sink, env_.metrics, msg.method)} : sink;
  if (trace::enabled())
    out = traced(msg, std::move(out));
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

json endpoint::modern_result(json result, bool cacheable) const {
  if (!result.contains("resultType"))
    result["resultType"] = "complete";
  result["_meta"][meta_key::server_info] = server_info_;
  if (cacheable) {
    result["ttlMs"] = env_.list_ttl.count();
    result["cacheScope"] = "public";
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

// -- legacy (2024-11-05 … 2025-11-25) ----------------------------------------------

void endpoint::initialize(const rpc_message& msg, const sink_ptr& out) {
  auto& params = params_object(msg);
  auto requested = params.find("protocolVersion");
  if (requested == params.end() || !requested->is_string())
    fail(rpc_code::invalid_params, "initialize needs \"protocolVersion\" (a string)");
  // Negotiation: the client's version if we serve it, else our newest.
  auto version = is_legacy(requested->get<std::string>()) ? requested->get<std::string>()
                                                          : legacy_versions().front();
  legacy_session s;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (session_)
      fail(rpc_code::invalid_request, "this session is initialized already");
  }
  s.id = actors::make_session_id();
  s.protocol_version = version;
  s.client_info = params.value("clientInfo", json::object());
  s.client_capabilities = params.value("capabilities", json::object());
  // The session's record (its implicit state handle) lives in the session
  // manager; created without waiting: its mailbox keeps the order.
  if (auto sm = env_.session_manager ? env_.session_manager() : caf::actor{})
    caf::anon_send(sm, actors::session_create_atom::value, int64_t{0}, s.id, session_info(s));
  {
    std::lock_guard<std::mutex> guard{mtx_};
    session_ = s;
    last_saved_ = std::chrono::steady_clock::now();
  }
  subscribe_legacy();
  auto cat = env_.catalog->snapshot();
  auto& id = cat->identity();
  json caps{{"tools", {{"listChanged", true}}},
            {"resources", {{"subscribe", true}, {"listChanged", true}}},
            {"prompts", {{"listChanged", true}}},
            {"logging", json::object()}};
  if (version != "2024-11-05")
    caps["completions"] = json::object();
  json result{{"protocolVersion", version}, {"capabilities", caps}, {"serverInfo", server_info(id)}};
  if (version == "2024-11-05" || version == "2025-03-26")
    result["serverInfo"].erase("title"); // not in those schemas
  put_if(result, "instructions", id.instructions);
  out->respond(make_result(msg.id, std::move(result)));
}

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
    std::map<std::string, std::string> vars;
    auto cat = env_.catalog->snapshot();
    if (!cat->find_resource(uri) && !cat->match_template(uri, vars))
      fail(mcp_code::resource_not_found_legacy, "Resource not found", json{{"uri", uri}});
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

// -- both eras ----------------------------------------------------------------

json endpoint::list_tools(const catalog& cat, const json& params) {
  return page(cat.tools(), "tools", params, cat.page_size, [](const tool_def& t) {
    json j{{"name", t.name}, {"inputSchema", t.input_schema}};
    put_if(j, "title", t.title);
    put_if(j, "description", t.description);
    if (!t.output_schema.is_null())
      j["outputSchema"] = t.output_schema;
    if (!t.annotations.is_null())
      j["annotations"] = t.annotations;
    return j;
  });
}

json endpoint::list_resources(const catalog& cat, const json& params) {
  return page(cat.resources(), "resources", params, cat.page_size,
              [](const resource_def& r) {
                json j{{"uri", r.uri}, {"name", r.name}};
                put_if(j, "title", r.title);
                put_if(j, "description", r.description);
                put_if(j, "mimeType", r.mime_type);
                return j;
              });
}

json endpoint::list_templates(const catalog& cat, const json& params) {
  return page(cat.resource_templates(), "resourceTemplates", params, cat.page_size,
              [](const resource_template_def& t) {
                json j{{"uriTemplate", t.uri_template}, {"name", t.name}};
                put_if(j, "title", t.title);
                put_if(j, "description", t.description);
                put_if(j, "mimeType", t.mime_type);
                return j;
              });
}

json endpoint::list_prompts(const catalog& cat, const json& params) {
  return page(cat.prompts(), "prompts", params, cat.page_size, [](const prompt_def& p) {
    json j{{"name", p.name}};
    put_if(j, "title", p.title);
    put_if(j, "description", p.description);
    j["arguments"] = json::array();
    for (auto& a : p.arguments) {
      json arg{{"name", a.name}, {"required", a.required}};
      put_if(arg, "description", a.description);
      j["arguments"].push_back(arg);
    }
    return j;
  });
}

bool endpoint::handle_common(const rpc_message& msg, bool modern, const sink_ptr& out) {
  auto& m = msg.method;
  auto& params = params_object(msg);
  if (m == "tools/call") {
    call_tool(msg, modern, out); // takes its own snapshot
    return true;
  }
  auto cat = env_.catalog->snapshot(); // one consistent view per request
  auto reply = [&](json result, bool cacheable) {
    out->respond(make_result(msg.id, modern ? modern_result(std::move(result), cacheable) : std::move(result)));
  };
  if (m == "tools/list") {
    reply(list_tools(*cat, params), true);
  } else if (m == "resources/list") {
    reply(list_resources(*cat, params), true);
  } else if (m == "resources/templates/list") {
    reply(list_templates(*cat, params), true);
  } else if (m == "prompts/list") {
    reply(list_prompts(*cat, params), true);
  } else if (m == "resources/read") {
    auto uri = required_string(params, "uri");
    std::vector<resource_contents> contents;
    std::map<std::string, std::string> vars;
    if (auto* r = cat->find_resource(uri)) {
      contents = r->read();
    } else if (auto* t = cat->match_template(uri, vars)) {
      auto found = t->read(uri, vars);
      if (!found)
        fail(modern ? rpc_code::invalid_params : mcp_code::resource_not_found_legacy,
             "Resource not found", json{{"uri", uri}});
      contents = std::move(*found);
    } else {
      fail(modern ? rpc_code::invalid_params : mcp_code::resource_not_found_legacy,
           "Resource not found", json{{"uri", uri}});
    }
    json result{{"contents", json::array()}};
    for (auto& c : contents)
      result["contents"].push_back(c.to_json());
    reply(std::move(result), true);
  } else if (m == "prompts/get") {
    auto name = required_string(params, "name");
    auto* p = cat->find_prompt(name);
    if (!p)
      fail(rpc_code::invalid_params, "Unknown prompt: " + name);
    std::map<std::string, std::string> args;
    if (auto a = params.find("arguments"); a != params.end() && !a->is_null()) {
      if (!a->is_object())
        fail(rpc_code::invalid_params, "\"arguments\" must be an object of strings");
      for (auto& [k, v] : a->items()) {
        if (!v.is_string())
          fail(rpc_code::invalid_params, "prompt argument \"" + k + "\" must be a string");
        args[k] = v.get<std::string>();
      }
    }
    for (auto& a : p->arguments)
      if (a.required && !args.count(a.name))
        fail(rpc_code::invalid_params, "missing required prompt argument \"" + a.name + "\"");
    json result{{"messages", p->get(args)}};
    put_if(result, "description", p->description);
    reply(std::move(result), false);
  } else if (m == "completion/complete") {
    auto ref = params.find("ref");
    auto arg = params.find("argument");
    if (ref == params.end() || !ref->is_object() || arg == params.end() || !arg->is_object())
      fail(rpc_code::invalid_params, "completion/complete needs \"ref\" and \"argument\" objects");
    auto arg_name = required_string(*arg, "name");
    auto value = required_string(*arg, "value");
    auto type = required_string(*ref, "type");
    std::vector<std::string> values;
    if (type == "ref/prompt") {
      auto name = required_string(*ref, "name");
      auto* p = cat->find_prompt(name);
      if (!p)
        fail(rpc_code::invalid_params, "Unknown prompt: " + name);
      for (auto& a : p->arguments)
        if (a.name == arg_name)
          for (auto& c : a.completions)
            if (c.rfind(value, 0) == 0)
              values.push_back(c);
    } else if (type == "ref/resource") {
      required_string(*ref, "uri"); // templates offer no completions yet
    } else {
      fail(rpc_code::invalid_params, "unknown ref type " + type);
    }
    auto total = values.size();
    if (values.size() > 100)
      values.resize(100);
    reply(json{{"completion", {{"values", values}, {"total", total}, {"hasMore", total > 100}}}}, false);
  } else {
    return false;
  }
  return true;
}

namespace {

/// Where a task's call reports: progress messages become its status
/// message, the response completes or fails it.
class task_sink : public request_sink {
public:
  task_sink(std::weak_ptr<task_registry> tasks, std::string id) : tasks_(std::move(tasks)), id_(std::move(id)) {}

  void notify(const json& n) override {
    auto tasks = tasks_.lock();
    if (!tasks || n.value("method", "") != "notifications/progress")
      return; // tasks get no progress or log notifications
    auto& p = n["params"];
    auto text = p.value("message", "");
    if (text.empty())
      text = "progress " + p["progress"].dump() + (p.contains("total") ? " of " + p["total"].dump() : "");
    tasks->set_message(id_, text);
  }

  void respond(const json& r) override {
    auto tasks = tasks_.lock();
    if (!tasks)
      return;
    if (r.contains("error"))
      tasks->fail(id_, r["error"]);
    else
      tasks->complete(id_, r["result"]);
  }

private:
  std::weak_ptr<task_registry> tasks_;
  std::string id_;
};

} // namespace

void endpoint::call_tool(const rpc_message& msg, bool modern, const sink_ptr& out, json responses, json state,
                         std::string task_id) {
  auto& params = params_object(msg);
  auto name = required_string(params, "name");
  auto cat = env_.catalog->snapshot();
  auto* tool = cat->find_tool(name);
  if (!tool)
    fail(rpc_code::invalid_params, "Unknown tool: " + name);
  json args = json::object();
  if (auto a = params.find("arguments"); a != params.end() && !a->is_null()) {
    if (!a->is_object())
      fail(rpc_code::invalid_params, "\"arguments\" must be an object");
    args = *a;
  }
  auto meta = params.value("_meta", json::object());
  if (!meta.is_object())
    fail(rpc_code::invalid_params, "\"_meta\" must be an object");
  json caps = json::object();
  std::string log_level;
  std::string principal; // whom a sealed requestState belongs to
  if (modern) {
    caps = meta[meta_key::client_capabilities];
    log_level = meta.value(meta_key::log_level, "");
    // A retry of an input_required round: verify what the client echoes.
    if (auto rs = params.find("requestState"); rs != params.end()) {
      if (!rs->is_string())
        fail(rpc_code::invalid_params, "\"requestState\" must be a string");
      auto opened = env_.sealer->open(rs->get<std::string>());
      if (auto* why = std::get_if<std::string>(&opened))
        fail(rpc_code::invalid_params, *why);
      auto& payload = std::get<json>(opened);
      if (payload.value("tool", "") != name || payload.value("args", "") != crypto::sha256_hex(args.dump()))
        fail(rpc_code::invalid_params, "requestState was minted for another request (tool or arguments differ)");
      state = payload["state"];
    }
    if (auto ir = params.find("inputResponses"); ir != params.end() && !ir->is_null()) {
      if (!ir->is_object())
        fail(rpc_code::invalid_params, "\"inputResponses\" must be an object");
      responses = *ir;
    }
  } else {
    std::lock_guard<std::mutex> guard{mtx_};
    if (session_) {
      caps = session_->client_capabilities;
      log_level = session_->log_level.empty() ? "info" : session_->log_level;
      principal = session_->id;
    }
  }
  auto decorate = [this, modern](json r) { return modern ? modern_result(std::move(r), false) : r; };
  // Invalid arguments are a tool execution error the model can correct.
  if (auto violations = validate_schema(tool->input_schema, args); !violations.empty()) {
    std::string text = "Invalid arguments for tool " + name + ":";
    for (auto& v : violations)
      text += " " + v.to_string() + ";";
    text.pop_back();
    out->respond(make_result(msg.id, decorate(tool_result::error(text).to_json())));
    return;
  }
  bool as_task = !task_id.empty()
                 || (modern && tool->task_capable && declares_tasks(caps) && responses.empty() && state.is_null());
  // Backpressure: a bounded number of calls in flight, never an unbounded queue.
  if (env_.inflight->fetch_add(1) >= env_.max_inflight) {
    env_.inflight->fetch_sub(1);
    fail(mcp_code::server_busy, "Server busy: " + std::to_string(env_.max_inflight)
                                  + " tool calls in flight; retry later");
  }
  struct release_on_throw {
    std::shared_ptr<std::atomic<size_t>> counter;
    bool armed = true;
    ~release_on_throw() {
      if (armed)
        counter->fetch_sub(1);
    }
  } slot{env_.inflight};
  auto worker = env_.tool_worker ? env_.tool_worker() : caf::actor{};
  if (!worker)
    fail(rpc_code::internal_error, "no tool worker is running (the node is stopping or restarting them)");
  auto job = std::make_shared<call_job>();
  job->snapshot = cat;
  job->store = env_.catalog;
  job->tool = tool;
  job->id = msg.id;
  job->arguments = args;
  job->meta = meta;
  job->session_manager = env_.session_manager;
  job->decorate = decorate;
  job->client_capabilities = caps.is_object() ? caps : json::object();
  job->log_level = log_level;
  job->input_responses = std::move(responses);
  job->request_state = std::move(state);
  job->session_handle = principal;
  job->correlation_id = out->correlation_id();
  job->trace = out->trace_context();
  std::weak_ptr<endpoint> weak = weak_from_this();
  if (as_task) {
    // The Tasks extension: answer at once with the task; the call runs on
    // and reports into the registry, which tasks/get reads.
    bool idempotent = tool->annotations.is_object() && tool->annotations.value("idempotentHint", false);
    auto task = env_.tasks->create(name, job->cancelled,
                                   json{{"tool", name}, {"arguments", args}, {"idempotent", idempotent},
                                        {"resumed", !task_id.empty()}},
                                   task_id);
    if (!task)
      fail(mcp_code::server_busy, "Server busy: too many tasks are live; retry later");
    job->sink = std::make_shared<task_sink>(env_.tasks, (*task)["taskId"].get<std::string>());
    job->log_level.clear();
    slot.armed = false;
    job->on_finish = [inflight = env_.inflight] { inflight->fetch_sub(1); };
    caf::anon_send(worker, std::move(job));
    (*task)["resultType"] = "task";
    out->respond(make_result(msg.id, modern_result(std::move(*task), false)));
    return;
  }
  job->sink = out;
  if (modern) {
    job->on_input = [sealer = env_.sealer, info = server_info_, out](const call_job& j, json requests, json st) {
      // The state is bound to this tool and these arguments.
      json result{{"resultType", input_required_note}, {"inputRequests", std::move(requests)}};
      result["requestState"] = sealer->seal(
        json{{"tool", j.tool->name}, {"args", crypto::sha256_hex(j.arguments.dump())}, {"state", std::move(st)}});
      result["_meta"][meta_key::server_info] = info;
      out->respond(make_result(j.id, std::move(result)));
    };
  } else {
    job->on_input = [weak, msg, out](const call_job&, json requests, json st) {
      if (auto self = weak.lock())
        self->ask_client(msg, out, requests, std::move(st));
    };
  }
  auto key = id_key(msg.id);
  {
    std::lock_guard<std::mutex> guard{mtx_};
    running_[key] = job->cancelled;
  }
  auto flag = job->cancelled;
  slot.armed = false; // from here the job gives the slot back when it is answered
  job->on_finish = [weak, key, flag, inflight = env_.inflight] {
    inflight->fetch_sub(1);
    if (auto self = weak.lock()) {
      std::lock_guard<std::mutex> guard{self->mtx_};
      if (auto i = self->running_.find(key); i != self->running_.end() && i->second == flag)
        self->running_.erase(i);
    }
  };
  caf::anon_send(worker, std::move(job));
}

// -- asking a legacy client for input (server-to-client requests) -------------

void endpoint::ask_client(const rpc_message& call, const sink_ptr& out, const json& requests, json state) {
  pending_input wait;
  wait.call = call;
  wait.out = out;
  wait.state = std::move(state);
  std::vector<json> outgoing;
  bool busy = false;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    // Bounded: a client that never answers cannot pile up waiting calls.
    busy = inputs_.size() >= max_waiting_inputs;
    for (auto& [key, req] : requests.items()) {
      if (busy)
        break;
      auto rid = "cafmcp-input-" + std::to_string(++next_input_);
      wait.keys[rid] = key;
      outgoing.push_back(make_request(rid, req.at("method").get<std::string>(), req.value("params", json::object())));
    }
    if (!busy)
      inputs_[id_key(call.id)] = std::move(wait);
  }
  if (busy) {
    out->respond(make_error(call.id, rpc_error{mcp_code::server_busy,
                                               "Server busy: " + std::to_string(max_waiting_inputs)
                                                 + " calls of this session already wait for input",
                                               nullptr}));
    return;
  }
  for (auto& r : outgoing)
    out->notify(r); // on the call's own stream (HTTP: SSE; stdio: stdout)
}

void endpoint::handle_input_response(const rpc_message& msg) {
  if (!msg.id.is_string())
    return; // not an answer to one of ours: dropped
  auto rid = msg.id.get<std::string>();
  std::optional<pending_input> ready;
  std::string refused;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto i = inputs_.begin(); i != inputs_.end(); ++i) {
      auto k = i->second.keys.find(rid);
      if (k == i->second.keys.end())
        continue;
      if (msg.error) {
        refused = "the client refused " + k->second + ": " + msg.error->message;
      } else {
        i->second.responses[k->second] = msg.result;
        if (i->second.responses.size() < i->second.keys.size())
          return; // more answers to come
      }
      ready = std::move(i->second);
      inputs_.erase(i);
      break;
    }
  }
  if (!ready)
    return; // unknown or cancelled call: dropped
  if (!refused.empty()) {
    ready->out->respond(make_result(ready->call.id, tool_result::error(refused).to_json()));
    return;
  }
  try {
    call_tool(ready->call, false, ready->out, std::move(ready->responses), std::move(ready->state));
  } catch (const protocol_error& e) {
    ready->out->respond(make_error(ready->call.id, e.err));
  }
}

// -- subscriptions ----------------------------------------------------------------

namespace {

/// Asks `sm` for record `id` from a short-lived actor (callers are I/O
/// threads: they must not block); `done` gets it, or nullopt on any error.
void fetch_record(const caf::actor& sm, const std::string& id,
                  std::function<void(std::optional<actors::session_record>)> done) {
  // (The id as an argument: argument-less function actors trip UBSan in CAF 0.17.)
  sm->home_system().spawn(
    [sm, done](caf::event_based_actor* self, std::string id) {
      self->request(sm, std::chrono::seconds(5), actors::session_get_atom::value, id)
        .then([done](actors::session_record& rec) { done(std::move(rec)); },
              [done](caf::error&) { done(std::nullopt); });
    },
    id);
}

} // namespace

void endpoint::save_session() {
  std::string id, info;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!session_)
      return;
    id = session_->id;
    info = session_info(*session_);
    last_saved_ = std::chrono::steady_clock::now();
  }
  if (auto sm = env_.session_manager ? env_.session_manager() : caf::actor{})
    caf::anon_send(sm, actors::session_info_atom::value, std::move(id), std::move(info));
}

void endpoint::renew_session() {
  // The record outlives idle periods of its TTL only if renewed; at most
  // every env_.session_renew, without waiting.
  std::string id;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto now = std::chrono::steady_clock::now();
    if (!session_ || now - last_saved_ < env_.session_renew)
      return;
    last_saved_ = now;
    id = session_->id;
  }
  if (auto sm = env_.session_manager ? env_.session_manager() : caf::actor{})
    caf::anon_send(sm, actors::session_touch_atom::value, std::move(id));
}

void endpoint::forget_session() {
  std::string id;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!session_)
      return;
    id = session_->id;
  }
  if (auto sm = env_.session_manager ? env_.session_manager() : caf::actor{})
    caf::anon_send(sm, actors::session_delete_atom::value, std::move(id));
}

void endpoint::restore(const endpoint_env& env, const std::string& id,
                       std::function<void(std::shared_ptr<endpoint>)> done) {
  auto sm = env.session_manager ? env.session_manager() : caf::actor{};
  if (!sm || id.empty())
    return done(nullptr);
  fetch_record(sm, id, [env, id, done](std::optional<actors::session_record> rec) {
    auto s = rec ? session_from_info(id, rec->info) : std::nullopt;
    if (!s)
      return done(nullptr); // none, or a state handle rather than a legacy session
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
    if (rec->ttl_ms > 0 && now - rec->last_active_ms >= rec->ttl_ms)
      return done(nullptr); // idle past its TTL: over, even if not swept yet
    auto ep = std::make_shared<endpoint>(env);
    ep->adopt(std::move(*s));
    ep->subscribe_legacy();
    auto subs = ep->session()->subscriptions;
    if (!subs.empty())
      env.hub()->update(ep->legacy_sub_, [&](subscription_filter& f) { f.resource_uris = subs; });
    done(ep);
  });
}

void endpoint::remote_task_method(const rpc_message& msg, const sink_ptr& out, const std::string& id) {
  auto method = msg.method;
  auto request_id = msg.id;
  std::weak_ptr<endpoint> weak = weak_from_this();
  auto verb = method == "tasks/get" ? "retrieve" : method == "tasks/update" ? "update" : "cancel";
  auto not_found = [=] {
    out->respond(make_error(request_id, rpc_error{rpc_code::invalid_params,
                                                  std::string{"Failed to "} + verb + " task: Task not found or expired",
                                                  json{{"taskId", id}}}));
  };
  // Answered when the record comes (this is an I/O thread: it must not wait).
  fetch_record(env_.session_manager(), id, [=](std::optional<actors::session_record> rec) {
    if (!rec)
      return not_found();
    auto info = json::parse(rec->info, nullptr, false);
    auto state = rec->data.count("state") ? json::parse(rec->data["state"], nullptr, false) : json();
    if (!info.is_object() || info.value("kind", "") != "task" || !state.is_object())
      return not_found();
    auto ep = weak.lock();
    if (!ep)
      return;
    if (method == "tasks/get")
      return out->respond(make_result(request_id, ep->modern_result(std::move(state), false)));
    if (method == "tasks/update" || state.value("status", "") != "working")
      return out->respond(make_result(request_id, ep->modern_result(json::object(), false)));
    auto owner = info.value("owner", "");
    auto refuse = [=](const std::string& why) {
      out->respond(make_error(request_id, rpc_error{rpc_code::invalid_params, "Failed to cancel task: " + why,
                                                    json{{"taskId", id}, {"node", owner}}}));
    };
    if (!ep->env_.cancel_remote_task)
      return refuse("it runs on node " + owner + ", which alone can stop it");
    // Only the node running the call can stop it: ask that one.
    ep->env_.cancel_remote_task(owner, id, [=](std::string outcome) {
      auto self = weak.lock();
      if (!self)
        return;
      if (outcome == "cancelled" || outcome == "already_ended")
        return out->respond(make_result(request_id, self->modern_result(json::object(), false)));
      refuse(outcome == "not_found" ? "node " + owner + " does not run it (it is being taken over)"
                                    : "node " + owner + " did not answer: " + outcome);
    });
  });
}

std::string endpoint::resume_task(const std::string& id, const std::string& tool, const json& arguments) {
  struct discard : request_sink {
    void notify(const json&) override {}
    void respond(const json&) override {} // "the task is created": nobody asked
  };
  rpc_message msg;
  msg.method = "tools/call";
  msg.id = "resume-" + id;
  msg.params = json{{"name", tool},
                    {"arguments", arguments},
                    {"_meta",
                     {{meta_key::protocol_version, "2026-07-28"},
                      {meta_key::client_capabilities, {{"extensions", {{tasks_extension, json::object()}}}}}}}};
  try {
    call_tool(msg, true, std::make_shared<discard>(), json::object(), nullptr, id);
  } catch (const protocol_error& e) {
    return e.err.message;
  }
  return {};
}

void endpoint::subscribe_legacy() {
  subscription_filter all;
  all.tools_list_changed = all.prompts_list_changed = all.resources_list_changed = true;
  std::weak_ptr<endpoint> weak = weak_from_this();
  auto sub = env_.hub()->subscribe(all, [weak](const json& n) {
    if (auto self = weak.lock())
      self->push(n);
  });
  std::lock_guard<std::mutex> guard{mtx_};
  legacy_sub_ = sub;
}

void endpoint::listen(const rpc_message& msg, const json& caps, const sink_ptr& out) {
  auto& params = params_object(msg);
  auto n = params.find("notifications");
  if (n == params.end() || !n->is_object())
    fail(rpc_code::invalid_params, "subscriptions/listen needs \"notifications\" (an object)");
  subscription_filter filter;
  json honoured = json::object();
  auto flag = [&](const char* key, bool& field) {
    auto i = n->find(key);
    if (i == n->end())
      return;
    if (!i->is_boolean())
      fail(rpc_code::invalid_params, std::string{"notifications."} + key + " must be a boolean");
    field = i->get<bool>();
    if (field)
      honoured[key] = true;
  };
  flag("toolsListChanged", filter.tools_list_changed);
  flag("promptsListChanged", filter.prompts_list_changed);
  flag("resourcesListChanged", filter.resources_list_changed);
  auto strings = [&](const char* key) {
    std::vector<std::string> out;
    auto i = n->find(key);
    if (i == n->end())
      return out;
    if (!i->is_array())
      fail(rpc_code::invalid_params, std::string{"notifications."} + key + " must be an array of strings");
    for (auto& v : *i) {
      if (!v.is_string())
        fail(rpc_code::invalid_params, std::string{"notifications."} + key + " must be an array of strings");
      out.push_back(v.get<std::string>());
    }
    return out;
  };
  auto cat = env_.catalog->snapshot();
  auto uris = strings("resourceSubscriptions");
  if (n->contains("resourceSubscriptions")) {
    for (auto& uri : uris) {
      std::map<std::string, std::string> vars;
      if (!cat->find_resource(uri) && !cat->match_template(uri, vars))
        fail(rpc_code::invalid_params, "Resource not found", json{{"uri", uri}});
      filter.resource_uris.insert(uri);
    }
    honoured["resourceSubscriptions"] = uris;
  }
  if (n->contains("taskIds")) {
    if (!declares_tasks(caps))
      fail_tasks_undeclared();
    json known = json::array();
    for (auto& id : strings("taskIds"))
      if (env_.tasks->get(id)) { // unknown or expired tasks are not honoured
        filter.task_ids.insert(id);
        known.push_back(id);
      }
    honoured["taskIds"] = known;
  }
  auto key = id_key(msg.id);
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (listens_.count(key) || running_.count(key))
      fail(rpc_code::invalid_request, "request id " + key + " is in use by an open request");
  }
  // Acknowledged first; the subscription starts right after it, so nothing
  // can overtake the acknowledgement.
  json ack_meta{{meta_key::subscription_id, msg.id}};
  out->notify(make_notification("notifications/subscriptions/acknowledged",
                                json{{"_meta", ack_meta}, {"notifications", honoured}}));
  auto id = msg.id;
  auto server = server_info(cat->identity());
  auto sub = env_.hub()->subscribe(
    filter,
    [out, id](const json& note) {
      auto tagged = note;
      tagged["params"]["_meta"][meta_key::subscription_id] = id;
      out->notify(tagged);
    },
    [out, id, server] {
      // The node stops: end the stream gracefully.
      out->respond(make_result(
        id, json{{"resultType", "complete"}, {"_meta", {{meta_key::subscription_id, id}, {meta_key::server_info, server}}}}));
    });
  std::lock_guard<std::mutex> guard{mtx_};
  listens_[key] = listen_entry{sub, out};
}

// -- the Tasks extension -----------------------------------------------------------

void endpoint::handle_task_method(const rpc_message& msg, const sink_ptr& out) {
  auto& params = params_object(msg);
  auto id = required_string(params, "taskId");
  auto& m = msg.method;
  if (!env_.tasks->get(id) && env_.session_manager && env_.session_manager())
    return remote_task_method(msg, out, id);
  if (m == "tasks/get") {
    auto task = env_.tasks->get(id);
    if (!task)
      fail(rpc_code::invalid_params, "Failed to retrieve task: Task not found or expired", json{{"taskId", id}});
    out->respond(make_result(msg.id, modern_result(std::move(*task), false)));
  } else if (m == "tasks/update") {
    auto responses = params.find("inputResponses");
    if (responses == params.end() || !responses->is_object())
      fail(rpc_code::invalid_params, "tasks/update needs \"inputResponses\" (an object)");
    if (!env_.tasks->get(id))
      fail(rpc_code::invalid_params, "Failed to update task: Task not found or expired", json{{"taskId", id}});
    // cafmcp's tasks never wait for input (tools that ask run synchronously),
    // so no key is outstanding: ignored, as the extension asks.
    out->respond(make_result(msg.id, modern_result(json::object(), false)));
  } else {
    if (env_.tasks->cancel(id) == task_registry::cancel_outcome::not_found)
      fail(rpc_code::invalid_params, "Failed to cancel task: Task not found or expired", json{{"taskId", id}});
    out->respond(make_result(msg.id, modern_result(json::object(), false)));
  }
}

} // namespace cafmcp::protocol
