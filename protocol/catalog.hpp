#pragma once

// What an MCP server offers: tools, resources, resource templates and
// prompts, registered by the server author (the C++ API of cafmcp) before
// the node starts, then read concurrently by every connection.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/fwd.hpp>
#include <nlohmann/json.hpp>

#include "protocol/json_rpc.hpp"

namespace cafmcp::protocol {

class catalog_store;

// -- tool results -------------------------------------------------------------

struct tool_result {
  nlohmann::json content = nlohmann::json::array(); // content blocks
  nlohmann::json structured;                        // structuredContent (null: none)
  bool is_error = false;

  static tool_result text(std::string s);
  static tool_result error(std::string s);
  nlohmann::json to_json() const;
};

// -- tool calls -----------------------------------------------------------------

/// One tools/call in progress, handed to the tool's handler. The handler
/// runs in its own supervised actor (`self`) and must call reply() or fail()
/// exactly once, now or later (e.g. from a request's continuation). If the
/// last reference to the call goes first, the caller gets a -32603 error.
/// progress(), log(), cancelled(), reply() and fail() may be called from
/// any thread (an upstream server's actor relays through them).
class tool_call {
public:
  virtual ~tool_call() = default;
  virtual caf::event_based_actor* self() = 0;
  /// The request's _meta object (null when absent).
  virtual const nlohmann::json& meta() const = 0;
  /// The legacy session's implicit state handle ("" for stateless calls).
  virtual const std::string& session_handle() const = 0;
  /// Whom the call acts for: the bearer token's subject ("" without
  /// mcp.auth, and on stdio), and its tenant ("": none configured) — for
  /// per-subject data or per-tenant routing.
  virtual const std::string& subject() const = 0;
  virtual const std::string& tenant() const = 0;
  /// The id for a new state record of this call's tenant: "t" and hex,
  /// ids no call without a tenant can use (those get hex ids).
  virtual std::string new_record_id() const = 0;
  /// State handles and tenants: the handle this call's tenant is given for
  /// record `id`, sealed to the tenant (id.MAC, HMAC under the node's key,
  /// the same on every member) so that no other tenant can use it even
  /// knowing the id; `id` itself for calls without a tenant.
  virtual std::string tenant_handle(const std::string& id) const = 0;
  /// The record behind `handle` if this call's tenant may use it ("": it
  /// may not, or it is no handle).
  virtual std::string handle_record(const std::string& handle) const = 0;
  /// The node's session manager (state handles live there).
  virtual caf::actor session_manager() const = 0;
  /// The node's live catalog: a handler may add or remove tools, resources
  /// and prompts (clients hear list_changed) or announce that a resource
  /// changed (resources/updated to its subscribers).
  virtual catalog_store& catalog() = 0;
  /// Sends notifications/progress if the client asked for it (progressToken).
  virtual void progress(double done, std::optional<double> total, std::string message) = 0;
  /// True once the client cancelled the call.
  virtual bool cancelled() const = 0;
  /// Answers the call (once; later calls are ignored) and ends its actor.
  virtual void reply(tool_result result) = 0;
  /// Answers the call with a JSON-RPC error instead of a result (once, as
  /// reply): for a call that could not be made, such as one for an upstream
  /// server that is down. -32603 counts against the tool's circuit breaker.
  virtual void fail(int code, std::string message, nlohmann::json data = nullptr) = 0;
  /// Runs `fn` in this call's actor after `delay` (skipped once cancelled).
  virtual void after(std::chrono::milliseconds delay, std::function<void()> fn) = 0;

  /// Sends notifications/message (level: debug … emergency) if the client
  /// asked for that level or a lower one (2026-07-28: _meta logLevel;
  /// legacy: logging/setLevel, default "info").
  virtual void log(const std::string& level, nlohmann::json data) = 0;

  // -- asking the client for input (elicitation, sampling, roots) --------------
  //
  // A handler that needs input calls request_input and returns; the runtime
  // gets the answers and runs the handler again, from the start, with
  // input_responses() and request_state() set. A 2026-07-28 client gets an
  // input_required result and retries (the state travels sealed with
  // HMAC-SHA256); a legacy client gets server-to-client requests on its
  // stream. Either way the handler is written once.

  /// Whether the client declared `capability` ("elicitation", "sampling", "roots").
  virtual bool client_supports(const std::string& capability) const = 0;
  /// The client's answers by key (an empty object in the first round).
  virtual const nlohmann::json& input_responses() const = 0;
  /// What the handler passed to request_input in the previous round (null
  /// in the first).
  virtual const nlohmann::json& request_state() const = 0;
  /// Ends this round: `requests` maps keys to {"method", "params"} with
  /// method elicitation/create, sampling/createMessage or roots/list.
  /// Asking for a capability the client did not declare fails the call
  /// with -32021 (data.requiredCapabilities).
  virtual void request_input(nlohmann::json requests, nlohmann::json state = nullptr) = 0;
};

using tool_handler = std::function<void(const nlohmann::json& arguments, std::shared_ptr<tool_call> call)>;

/// A plain function from arguments to a result.
using tool_function = std::function<tool_result(const nlohmann::json&)>;

/// Whether record id `id` is a tenant's (see tool_call::new_record_id).
inline bool is_tenant_record(const std::string& id) {
  return !id.empty() && id[0] == 't';
}

/// Adapts a plain function (arguments -> result) into a tool handler.
tool_handler sync_tool(tool_function fn);

struct tool_def {
  std::string name;
  std::string title;
  std::string description;
  nlohmann::json input_schema = nlohmann::json{{"type", "object"}};
  nlohmann::json output_schema; // null: none
  nlohmann::json annotations;   // null: none
  tool_handler handler;
  bool idempotent = false; // safe to re-run after a failover
  /// Runs as a task (Tasks extension) when the client declared it: the
  /// call answers at once with a task id and the client polls tasks/get.
  bool task_capable = false;
  /// With bearer authorisation (mcp.auth): a call needs a token carrying
  /// this scope, else 403 insufficient_scope ("": any token).
  std::string required_scope = {};
  /// Set by inline_tool: a pure function answered where the request was
  /// read (the HTTP I/O thread or the legacy session's actor), without
  /// the round trip to a tool worker. Tasks and calls while a chaos
  /// experiment runs still go through `handler` on a worker.
  tool_function inline_handler = {};
  /// Whether the tool can serve a call now (null: always). Routing skips
  /// a target that cannot (an upstream server that is down) for the next.
  std::function<bool()> available = {};
};

/// `def` with `fn` as its handler, run inline: for pure, non-blocking
/// functions that take microseconds (echo, add). Each call saves two
/// thread hand-offs; a throw still fails only that call (-32603). A
/// function that blocks, sends messages or runs long would stall every
/// connection of the I/O thread: give it a `sync_tool` handler instead.
tool_def inline_tool(tool_def def, tool_function fn);

// -- resources ------------------------------------------------------------------

struct resource_contents {
  std::string uri;
  std::string mime_type;
  std::optional<std::string> text;
  std::optional<std::string> blob_base64;
  nlohmann::json to_json() const;
};

/// How a request answered later (by an upstream server) ends: its whole
/// result, or the error (code, message, data) to answer with. Any thread.
using relay_reply = std::function<void(std::optional<nlohmann::json> result, std::optional<rpc_error> error)>;

struct resource_def {
  std::string uri;
  std::string name;
  std::string title;
  std::string description;
  std::string mime_type;
  std::function<std::vector<resource_contents>()> read;
  /// Instead of read, for a resource read later (an upstream server's):
  /// `done` gets the whole resources/read result.
  std::function<void(relay_reply done)> relay = {};
  /// A client subscribed to it (an upstream's: the upstream is told, and
  /// its updates reach the node's subscribers).
  std::function<void()> subscribe = {};
};

/// A URI template (RFC 6570 level 1: "{name}" placeholders).
struct resource_template_def {
  std::string uri_template;
  std::string name;
  std::string title;
  std::string description;
  std::string mime_type;
  /// Returns the contents for a URI that matched, or nullopt: not found.
  std::function<std::optional<std::vector<resource_contents>>(const std::string& uri,
                                                               const std::map<std::string, std::string>& vars)>
    read;
  /// Instead of read, for a template read later (an upstream server's):
  /// `done` gets the whole resources/read result for `uri`.
  std::function<void(const std::string& uri, relay_reply done)> relay = {};
  /// A client subscribed to `uri`, one of its URIs (as resource_def::subscribe).
  std::function<void(const std::string& uri)> subscribe = {};
};

// -- prompts --------------------------------------------------------------------

struct prompt_argument {
  std::string name;
  std::string description;
  bool required = false;
  std::vector<std::string> completions; // values offered by completion/complete
};

struct prompt_def {
  std::string name;
  std::string title;
  std::string description;
  std::vector<prompt_argument> arguments;
  /// Returns the prompt's messages for the (validated) arguments.
  std::function<nlohmann::json(const std::map<std::string, std::string>& args)> get;
  /// Instead of get, for a prompt answered later (an upstream server's):
  /// `done` gets the whole prompts/get result.
  std::function<void(const std::map<std::string, std::string>& args, relay_reply done)> relay = {};
  /// Whether the prompt can be got now (null: always). Routing skips a
  /// target that cannot (an upstream server that is down).
  std::function<bool()> available = {};
};

struct server_identity {
  std::string name = "cafmcp";
  std::string title = "cafmcp";
  std::string version;
  std::string instructions;
};

/// The registry. Filled before serving starts; read-only afterwards, so
/// every connection may read it without locking.
class catalog {
public:
  explicit catalog(server_identity id);

  /// Each add_* throws std::invalid_argument for a malformed definition
  /// (duplicate name, missing handler, non-object input schema ...).
  void add_tool(tool_def t);
  void add_resource(resource_def r);
  void add_resource_template(resource_template_def t);
  void add_prompt(prompt_def p);

  /// Each remove_* returns false when nothing has that name.
  bool remove_tool(const std::string& name);
  bool remove_resource(const std::string& uri);
  bool remove_resource_template(const std::string& uri_template);
  bool remove_prompt(const std::string& name);

  const server_identity& identity() const { return id_; }
  const std::vector<tool_def>& tools() const { return tools_; }
  const std::vector<resource_def>& resources() const { return resources_; }
  const std::vector<resource_template_def>& resource_templates() const { return templates_; }
  const std::vector<prompt_def>& prompts() const { return prompts_; }

  const tool_def* find_tool(const std::string& name) const;
  const prompt_def* find_prompt(const std::string& name) const;
  const resource_def* find_resource(const std::string& uri) const;
  /// The template matching `uri` and the values of its placeholders.
  const resource_template_def* match_template(const std::string& uri,
                                              std::map<std::string, std::string>& vars) const;

  /// Items per page of a list result.
  size_t page_size = 50;

private:
  server_identity id_;
  std::vector<tool_def> tools_;
  std::vector<resource_def> resources_;
  std::vector<resource_template_def> templates_;
  std::vector<prompt_def> prompts_;
};

/// Matches `uri` against an RFC 6570 level-1 template; fills `vars`.
bool match_uri_template(const std::string& tmpl, const std::string& uri,
                        std::map<std::string, std::string>& vars);

} // namespace cafmcp::protocol
