#pragma once

// Runs tools/call on a pool of tool workers: long-lived actors under tool_sup
// (one_for_one, permanent). A call is a message to a worker, not a new actor:
// spawning one per call cost more than the call itself. A handler that
// throws fails that call only (-32603); a worker that dies takes only its
// in-flight calls with it (each answered -32603 by its job's guard) and is
// restarted by tool_sup.

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include <caf/allowed_unsafe_message_type.hpp>
#include <nlohmann/json.hpp>

#include "actors/fault_injection.hpp"
#include "actors/name_table.hpp"
#include "protocol/catalog.hpp"
#include "protocol/catalog_store.hpp"
#include "protocol/request_state.hpp"
#include "supervision/child_spec.hpp"
#include "base/trace.hpp"

namespace cafmcp::protocol {

class request_sink;

/// Everything one tools/call needs. Its destructor is the completion
/// guard: a call that was neither answered nor cancelled gets -32603.
struct call_job {
  std::shared_ptr<const protocol::catalog> snapshot; // keeps `tool` alive across catalog updates
  std::shared_ptr<catalog_store> store;             // the live catalog
  const tool_def* tool = nullptr;
  std::shared_ptr<const tool_def> owned_tool;       // keeps `tool` alive when no catalog holds it (a member's)
  nlohmann::json id;
  nlohmann::json arguments;
  nlohmann::json meta;
  std::string session_handle;
  std::string correlation_id; // X-Correlation-ID of the request (log lines carry it)
  std::string subject;        // whom it acts for (bearer authorisation; "": none)
  std::string tenant;
  std::shared_ptr<const request_state_sealer> sealer; // seals state handles to the tenant
  trace::context trace;       // the request's span: the tool call's span is its child
  trace::span span;           // the tool call's (ended with the answer)
  std::shared_ptr<request_sink> sink;
  std::shared_ptr<std::atomic<bool>> cancelled = std::make_shared<std::atomic<bool>>(false);
  std::function<caf::actor()> session_manager;
  std::function<nlohmann::json(nlohmann::json)> decorate; // era-specific result fields
  std::function<void()> on_finish;                         // e.g. forget the cancel flag
  /// Told once how the call ended: failed when the handler threw, crashed
  /// or was stopped (an internal error), not for results with isError
  /// (the tool ran and answered). The tool's circuit breaker counts it.
  std::function<void(bool failed)> on_outcome;
  /// Chaos: the call may be failed or stalled before its handler runs (null: never).
  std::shared_ptr<actors::fault_injection> faults;
  bool chaos_checked = false;
  nlohmann::json client_capabilities = nlohmann::json::object();
  std::string log_level;                                   // lowest level sent ("": none)
  nlohmann::json input_responses = nlohmann::json::object();
  nlohmann::json request_state;                            // this round's state (null: first round)
  /// Ends the round with a request for input (era-specific: an
  /// input_required result, or requests to a legacy client).
  std::function<void(const call_job& job, nlohmann::json requests, nlohmann::json state)> on_input;
  std::atomic<bool> answered{false};

  /// Sends the response once; false if it was sent (or cancelled) before.
  bool answer(const nlohmann::json& response);
  /// Ends the job without a response (the call continues in another
  /// round); false if it was answered before.
  bool hand_off();
  ~call_job();
};

using call_job_ptr = std::shared_ptr<call_job>;

/// How a JSON-RPC response ended: "ok", "error" (a JSON-RPC error) or
/// "tool_error" (a result with isError).
const char* outcome_of(const nlohmann::json& response);

/// Marks `span` failed when `response` is an error or a tool error.
void record_outcome(trace::span& span, const nlohmann::json& response);

/// 0 (debug) … 7 (emergency); -1 for an unknown level.
int log_severity(const std::string& level);

/// The client capability a server-to-client request needs ("" if unknown).
std::string input_capability(const std::string& method);

/// tool_sup with `workers` tool workers, each registered in `names` as
/// tool_worker_name(k).
supervision::child_spec tool_supervisor(supervision::supervisor_flags flags, size_t workers,
                                        std::shared_ptr<actors::name_table> names);

std::string tool_worker_name(size_t k);

/// Actor types a supervisor's start_child may name (child_spec_desc), e.g.
/// from `cafmcp shell`: "tool_worker" (a spare tool worker).
void register_actor_types(caf::actor_system_config& cfg);

/// Picks the workers round-robin (any thread).
class tool_workers {
public:
  tool_workers(std::shared_ptr<actors::name_table> names, size_t count);
  /// A running worker, or an invalid handle while none is (restarting).
  caf::actor next();

private:
  std::shared_ptr<actors::name_table> names_;
  size_t count_;
  std::atomic<size_t> next_{0};
};

} // namespace cafmcp::protocol

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cafmcp::protocol::call_job_ptr)
