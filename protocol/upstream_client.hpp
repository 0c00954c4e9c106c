#pragma once

// The MCP client side of one connection to an upstream server, as a plain
// class: lines in (what the server wrote), lines out (what to write to it),
// decisions by the time given. It knows no process and no actor: the
// upstream actor feeds it its server's stdout and writes its outbox to its
// stdin; the tests feed it by hand.
//
// The session: initialize (a session-based revision, as most servers speak
// today), notifications/initialized, then tools/list page by page (and
// prompts/list, resources/list and resources/templates/list, if the server
// has them); then it is ready and relays calls and other requests
// (prompts/get, resources/read). list_changed lists again.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "protocol/json_rpc.hpp"

namespace cafmcp::protocol {

/// `j[key]` if it is a string, else `def`: what an upstream server sends is
/// untrusted, and a field of another type (null, a number) reads as absent.
std::string str_of(const nlohmann::json& j, const char* key, std::string def = {});

class upstream_client {
public:
  using clock = std::chrono::steady_clock;
  /// Identifies one relayed call to the owner (it maps keys to its callers).
  using call_key = uint64_t;

  enum class phase { idle, initializing, listing, ready };

  struct events {
    /// The server's tools (each as tools/list gave it), after the first
    /// listing and after every list_changed.
    std::function<void(std::vector<nlohmann::json> tools)> on_tools;
    /// The server's prompts, the same way (never, for a server without prompts).
    std::function<void(std::vector<nlohmann::json> prompts)> on_prompts;
    /// Its resources and resource templates (a server with resources).
    std::function<void(std::vector<nlohmann::json> resources)> on_resources;
    std::function<void(std::vector<nlohmann::json> templates)> on_templates;
    /// A relayed call ended: its result object, or the error to answer.
    std::function<void(call_key, std::optional<nlohmann::json> result, std::optional<rpc_error> error)> on_answer;
    /// notifications/progress for a relayed call (params without the token).
    std::function<void(call_key, const nlohmann::json& params)> on_progress;
    /// The server asks for input (elicitation/create, sampling/createMessage)
    /// for a relayed tools/call: the one it came with (HTTP), else the one
    /// request open. `id` is the request's, for answer_server. Unset, cafmcp
    /// declares neither capability in initialize; with no call to give a
    /// request to, the client refuses it itself.
    std::function<void(call_key, nlohmann::json id, const std::string& method, const nlohmann::json& params)>
      on_input_request;
    /// notifications/message that belongs to a relayed tools/call: it came
    /// on the call's HTTP response stream, or (stdio) the call is the only
    /// request open (as for input requests): that call's log.
    std::function<void(call_key, const nlohmann::json& params)> on_call_log;
    /// notifications/message (logging) from the server, of no call.
    std::function<void(const nlohmann::json& params)> on_log;
    /// notifications/resources/updated for `uri`.
    std::function<void(const std::string& uri)> on_resource_updated;
    /// A line that is not JSON-RPC, or a response nobody waits for.
    std::function<void(const std::string& what)> on_protocol_error;
  };

  upstream_client(std::string name, events ev);

  /// Whether an input request that came with no request may be given to
  /// the call open there when it is the only one (stdio: nothing else says
  /// whose it is). Off for HTTP servers: what comes on their GET stream is
  /// unrelated to any request (MCP), and is refused.
  void attribute_unrelated(bool on) { attribute_unrelated_ = on; }

  /// Starts the session: queues initialize. `deadline` bounds the whole
  /// handshake (initialize and the first listing).
  void start(clock::time_point deadline);

  /// Feeds one line the server wrote; `related`: the id of the request on
  /// whose response it came (HTTP), which says whose it is.
  void on_line(const std::string& line, clock::time_point now, std::optional<int64_t> related = std::nullopt);

  /// Queues tools/call for `tool` (its name on the server). `progress`:
  /// the client asked for progress (relayed through on_progress). Calls
  /// made before the session is ready wait for it (up to their deadline).
  void call(call_key key, const std::string& tool, nlohmann::json arguments, bool progress,
            clock::time_point deadline);
  /// Any other request relayed (e.g. prompts/get), answered through on_answer.
  void request(call_key key, std::string method, nlohmann::json params, bool progress, clock::time_point deadline);

  /// Subscribes to `uri` (resources/subscribe) when the session is ready
  /// and the server offers subscriptions; false otherwise. Its updates come
  /// through on_resource_updated; a refusal through on_protocol_error.
  bool subscribe(const std::string& uri);

  /// Answers the server's request `id` (on_input_request) with `result`,
  /// else with `error`.
  void answer_server(const nlohmann::json& id, std::optional<nlohmann::json> result, std::optional<rpc_error> error);

  /// The caller gave up (cancelled) at `now`: tells the server
  /// (notifications/cancelled) and forgets the call without an answer.
  void cancel(call_key key, const std::string& reason, clock::time_point now);

  /// How long after a call was cancelled or timed out an input request
  /// is not relayed: the server may still be running it, and the request
  /// could be that call's.
  static constexpr std::chrono::seconds ended_grace{30};

  /// Ends calls past their deadline (answered with an error). Returns false
  /// when the handshake itself is past its deadline: the session is dead.
  bool expire(clock::time_point now);

  /// Fails every call still open (the server went away), with `why`.
  void fail_all(const std::string& why);

  /// Lines to write to the server, in order (the outbox empties).
  std::vector<std::string> take_outbox();

  phase current_phase() const { return phase_; }
  bool has_open_calls() const { return !calls_.empty() || !waiting_.empty(); }
  /// The server's initialize result (null before): serverInfo, capabilities.
  const nlohmann::json& server_info() const { return init_result_; }

  /// The revision offered in initialize.
  static constexpr const char* offered_version = "2025-06-18";

private:
  struct open_call {
    call_key key;
    clock::time_point deadline;
    std::string progress_token; // "": none asked for
    bool tool = false;          // a tools/call (input requests go to one)
  };
  struct waiting_call {
    call_key key;
    std::string method;
    nlohmann::json params;
    bool progress;
    clock::time_point deadline;
  };
  /// One of the server's lists, fetched page by page.
  struct listing {
    const char* method; // tools/list
    const char* field;  // tools
    int64_t id = 0;     // the page request on its way (0: none)
    bool again = false; // list_changed while it ran
    std::vector<nlohmann::json> got = {};
    size_t pages = 0;   // of this listing so far
  };
  static constexpr size_t max_pages = 1000;

  int64_t send_request(std::string method, nlohmann::json params);
  void list(listing& l, const std::string& cursor);
  /// A page of `l` arrived: the next page, or the whole list to `done`.
  void on_page(listing& l, const nlohmann::json& msg, const std::function<void(std::vector<nlohmann::json>)>& done);
  void become_ready();
  void send_call(waiting_call c);
  void on_response(const nlohmann::json& msg);
  void on_server_message(const nlohmann::json& msg, std::optional<int64_t> related);
  /// The tools/call a message the server sent with no request belongs to
  /// (stdio: nothing else says whose it is): the request open there when it
  /// is the only one, a tools/call, and no call ended within ended_grace
  /// (it may still run there). Null otherwise, and for HTTP servers.
  const open_call* sole_call() const;
  /// An input request: to the call it came with, else to the only one open.
  void on_input_request(const nlohmann::json& id, const std::string& method, const nlohmann::json& params,
                        std::optional<int64_t> related);

  std::string name_;
  events ev_;
  phase phase_ = phase::idle;
  clock::time_point handshake_deadline_{};
  int64_t next_id_ = 1;
  int64_t init_id_ = 0;
  listing tools_{"tools/list", "tools"};
  listing prompts_{"prompts/list", "prompts"};
  listing resources_{"resources/list", "resources"};
  listing templates_{"resources/templates/list", "resourceTemplates"};
  nlohmann::json init_result_;
  std::map<int64_t, open_call> calls_; // by JSON-RPC id
  std::set<int64_t> subscribing_; // resources/subscribe requests on their way
  /// Calls cancelled or timed out, until ended_grace has passed.
  std::map<int64_t, clock::time_point> ended_;
  std::vector<waiting_call> waiting_;  // before ready
  std::vector<std::string> outbox_;
  bool attribute_unrelated_ = true;
};

} // namespace cafmcp::protocol
