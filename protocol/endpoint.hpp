#pragma once
// One MCP connection: the endpoint serving both protocol eras.

// Decodes JSON texts, serves both protocol eras, and sends what each request produces to a sink. Modern (2026-07-28) requests
// are served statelessly; `initialize` starts a legacy session on this
// endpoint. Thread-safe: transports call handle_text from their I/O thread;
// tool results arrive from actors.

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <nlohmann/json.hpp>

#include "protocol/cancel_outcome.hpp"
#include "protocol/catalog.hpp"
#include "protocol/catalog_store.hpp"
#include "protocol/notification_hub.hpp"
#include "protocol/request_state.hpp"
#include "protocol/live_routes.hpp"
#include "protocol/member_calls.hpp"
#include "protocol/tenant_policy.hpp"
#include "protocol/task_registry.hpp"
#include "protocol/json_rpc.hpp"
#include "protocol/legacy_session_record.hpp"
#include "actors/breaker_table.hpp"
#include "actors/fault_injection.hpp"
#include "actors/rate_limits.hpp"
#include "base/metrics.hpp"
#include "base/trace.hpp"

namespace cafmcp::protocol {

/// Receives what one request produces: notifications that belong to it
/// (progress) and, last, its response. Called from any thread.
class request_sink {
public:
  virtual ~request_sink() = default;
  virtual void notify(const nlohmann::json& notification) = 0;
  virtual void respond(const nlohmann::json& response) = 0;
  /// The request's X-Correlation-ID ("": none): its log lines carry it.
  virtual std::string correlation_id() const { return {}; }
  /// The trace context the request came with (or its transport span's):
  /// what it causes is traced under it. Invalid: none.
  virtual trace::context trace_context() const { return {}; }
  /// Whom the request acts for (the bearer token's subject; "": no
  /// authorisation on this transport).
  virtual std::string subject() const { return {}; }
  /// The tenant of that subject (a static token's tenant=, the JWT's
  /// tenant_claim; "": none).
  virtual std::string tenant() const { return {}; }
  /// The client's network address ("": not on a network, e.g. stdio).
  virtual std::string client_address() const { return {}; }
  /// A request header routing rules look at, by lower-case name (nullopt:
  /// absent, or not a header routing asked the transport to keep).
  virtual std::optional<std::string> header(const std::string& lower_name) const {
    (void) lower_name;
    return std::nullopt;
  }
  /// The routing table whose headers the transport kept for this request
  /// (nullopt: it keeps none; the node's current table decides). Deciding
  /// with it keeps one version for the headers and the decision.
  virtual std::optional<std::shared_ptr<const route_table>> routes() const { return std::nullopt; }
  /// Whether the node's rate limits (per client, per tool, the tenant's)
  /// apply; false for a call another member routed here, limited where it
  /// arrived.
  virtual bool limited() const { return true; }
};

using sink_ptr = std::shared_ptr<request_sink>;

/// What all connections of a node share.
struct endpoint_env {
  /// The served catalog (changeable at run time; list_changed follows).
  std::shared_ptr<catalog_store> catalog;
  /// Tasks of the Tasks extension (node-wide: any connection may poll).
  std::shared_ptr<task_registry> tasks;
  /// Seals the requestState of input_required results.
  std::shared_ptr<const request_state_sealer> sealer;
  std::function<caf::actor()> tool_worker;     // a running tool worker (round-robin)
  std::function<caf::actor()> session_manager; // the current incarnation
  std::chrono::milliseconds list_ttl{60000};   // ttlMs of cacheable lists
  /// A legacy session's record is renewed at most this often (keep it
  /// well below the session TTL: an expired record cannot be restored).
  std::chrono::milliseconds session_renew{30000};
  /// Tool calls in flight on the node (shared by all endpoints) and the
  /// limit past which new calls are refused with -32000 (backpressure).
  std::shared_ptr<std::atomic<size_t>> inflight = std::make_shared<std::atomic<size_t>>(0);
  size_t max_inflight = 10000;
  /// Rate limits per client and per tool (null: none).
  std::shared_ptr<actors::rate_limits> limits;
  /// Circuit breakers: tool calls go through "tool:NAME" (null: none).
  std::shared_ptr<actors::breaker_table> breakers;
  /// Chaos faults injected into tool calls (null: none).
  std::shared_ptr<actors::fault_injection> faults;
  /// Requests by method and outcome and their durations (null: none kept).
  std::shared_ptr<metrics::metrics_registry> metrics;
  /// Routing rules for tools/call, replaced whole when a new version comes
  /// (null, or no table in it: every call goes to the tool it names).
  std::shared_ptr<live_routes> routes;
  /// Tenants' catalog views and rate limits (null: every caller sees all).
  std::shared_ptr<tenant_policy> tenants;
  /// In a cluster: runs calls that rules route to other members (null:
  /// targets on members are never available).
  std::shared_ptr<member_calls> members;
  /// Routing decisions by route and target (null: not counted).
  std::shared_ptr<metrics::metrics_registry> route_metrics;
  /// In a cluster: asks node `owner` to cancel task `id` it runs; `done`
  /// gets that node's outcome, or why none came.
  std::function<void(const std::string& owner, const std::string& id, std::function<void(const cancel_reply&)> done)>
    cancel_remote_task;
  /// Set when the node may not serve writes (e.g. fenced); the message
  /// names why. Checked per request.
  std::function<std::optional<std::string>()> refusal;

  /// An environment serving `cat` with a fresh hub, task registry and a
  /// random requestState key (tool workers etc. still to be set).
  static endpoint_env serving(std::shared_ptr<const protocol::catalog> cat, task_config tasks = {});
  const std::shared_ptr<notification_hub>& hub() const { return catalog->hub(); }
};

class endpoint : public std::enable_shared_from_this<endpoint> {
public:
  explicit endpoint(endpoint_env env);
  ~endpoint();
  endpoint(const endpoint&) = delete;
  endpoint& operator=(const endpoint&) = delete;

  /// Where a legacy session's server-initiated messages go (list_changed,
  /// resources/updated): stdout on stdio, the GET stream on HTTP. Unset,
  /// they are dropped (the client opened no stream).
  void set_push(std::function<void(const nlohmann::json&)> push);

  /// Handles one JSON text (a message or, where allowed, a batch). Every
  /// response goes to `out`: one per request, a batch's as one array.
  /// Returns how many responses will be sent (0: notifications only).
  size_t handle_text(std::string_view text, const sink_ptr& out);

  /// The same for an already parsed value (HTTP parses the body itself to
  /// check its headers against it).
  size_t handle_value(const nlohmann::json& value, const sink_ptr& out);

  /// Handles one decoded message.
  void handle(const rpc_message& msg, const sink_ptr& out);

  /// `sink` wrapped in the request's span (tracing on only).
  sink_ptr traced(const rpc_message& msg, sink_ptr sink) const;

  /// How many responses handle_value will send for `value` (0:
  /// notifications or responses only), without handling it.
  static size_t expected_responses(const nlohmann::json& value, bool allow_batch);

  /// The legacy session, if `initialize` was served here.
  std::optional<legacy_session> session() const;

  /// Adopts an existing legacy session (HTTP: found by Mcp-Session-Id).
  void adopt(legacy_session s);

  /// A legacy session started elsewhere (another node, before a failover):
  /// looks up its record through the session manager and calls `done`
  /// (on a CAF thread) with an endpoint serving it, or nullptr when there
  /// is no such session.
  static void restore(const endpoint_env& env, const std::string& id,
                      std::function<void(std::shared_ptr<endpoint>)> done);

  /// The client ended the session (DELETE): its record goes too. `done`
  /// (on a CAF thread) gets "" once the deletion is acknowledged (at the
  /// node's write consistency and durability), else why it is not.
  void forget_session(std::function<void(std::string)> done);

  /// Runs task `id` again here, from the start (its node died and its tool
  /// is idempotent); its state goes to the registry (and its mirror) as for
  /// any task, and it stays `tenant`'s. "" when it runs, else why it cannot.
  std::string resume_task(const std::string& id, const std::string& tool, const nlohmann::json& arguments,
                          const std::string& tenant);

  /// Cancels every call still running (the connection is gone).
  void cancel_all();

  /// Cancels the call with request id `id` (its client went away).
  void cancel(const nlohmann::json& id);

private:
  struct listen_entry {
    uint64_t sub = 0;
    sink_ptr out;
  };
  /// A legacy call waiting for the client's answers to its input requests.
  struct pending_input {
    rpc_message call;
    sink_ptr out;
    std::map<std::string, std::string> keys; // outgoing request id -> key
    nlohmann::json responses = nlohmann::json::object();
    nlohmann::json state;
  };

  void handle_modern(const rpc_message& msg, const nlohmann::json& meta, const sink_ptr& out);
  void handle_legacy(const rpc_message& msg, const sink_ptr& out);
  void handle_notification(const rpc_message& msg);
  /// The key a client's requests are limited by: its token's subject, else
  /// its legacy session, else its address.
  std::string client_key(const request_sink& sink) const;
  /// Methods both eras share; false when `method` is none of them.
  bool handle_common(const rpc_message& msg, bool modern, const sink_ptr& out);
  void initialize(const rpc_message& msg, const sink_ptr& out);
  /// tools/call; `responses`/`state`: a legacy call's later round.
  /// `task_id`: run as that task (resumed after its node died).
  void call_tool(const rpc_message& msg, bool modern, const sink_ptr& out,
                 nlohmann::json responses = nlohmann::json::object(), nlohmann::json state = nullptr,
                 std::string task_id = {});
  /// tasks/* for a task this node's registry does not hold: its replicated
  /// record (another node runs it, or ran it).
  void remote_task_method(const rpc_message& msg, const sink_ptr& out, const std::string& id);
  void listen(const rpc_message& msg, const nlohmann::json& caps, const sink_ptr& out);
  void handle_task_method(const rpc_message& msg, const sink_ptr& out);
  /// A legacy client's answer to one of our input requests.
  void handle_input_response(const rpc_message& msg);
  /// Sends a legacy call's input requests to the client.
  void ask_client(const rpc_message& call, const sink_ptr& out, const nlohmann::json& requests, nlohmann::json state);
  void subscribe_legacy();
  /// Writes the legacy session's protocol state to its record.
  void save_session();
  /// Renews the legacy session's record now and then (its TTL).
  void renew_session();
  void push(const nlohmann::json& notification);

  /// `visible` (null: all) says which names the caller's tenant sees.
  using visible_fn = std::function<bool(const std::string&)>;
  static nlohmann::json list_tools(const catalog& cat, const nlohmann::json& params, const visible_fn& visible = nullptr);
  static nlohmann::json list_resources(const catalog& cat, const nlohmann::json& params,
                                       const visible_fn& visible = nullptr);
  static nlohmann::json list_templates(const catalog& cat, const nlohmann::json& params,
                                       const visible_fn& visible = nullptr);
  static nlohmann::json list_prompts(const catalog& cat, const nlohmann::json& params,
                                     const visible_fn& visible = nullptr);
  /// Whether `uri` is a resource, or matches a template, that `tenant` sees:
  /// what a subscription to its updates needs.
  bool resource_visible(const catalog& cat, const std::string& uri, const std::string& tenant) const;
  /// A client subscribed to `uri`: an upstream serving it is told.
  static void subscribe_upstream(const catalog& cat, const std::string& uri);

  /// Adds resultType, serverInfo and (for cacheable results) ttlMs/cacheScope.
  /// `shared`: a cacheable result any caller would get alike (cacheScope
  /// public); else private (a tenant's view, or behind authorisation).
  nlohmann::json modern_result(nlohmann::json result, bool cacheable, bool shared = true) const;

  endpoint_env env_;
  const nlohmann::json server_info_; // _meta serverInfo (the identity never changes)
  mutable std::mutex mtx_;
  std::optional<legacy_session> session_;
  std::map<std::string, std::shared_ptr<std::atomic<bool>>> running_; // request id -> cancel flag
  std::map<std::string, listen_entry> listens_;                       // listen request id -> stream
  std::map<std::string, pending_input> inputs_;                       // call request id -> its wait
  std::function<void(const nlohmann::json&)> push_;
  uint64_t legacy_sub_ = 0;
  uint64_t next_input_ = 0;
  std::chrono::steady_clock::time_point last_saved_{}; // the record was last renewed
};

/// A request-level protocol error, thrown inside the dispatch and answered
/// as a JSON-RPC error.
struct protocol_error {
  rpc_error err;
};

} // namespace cafmcp::protocol
