#pragma once

// Runs tools/call: each call is one actor under tool_sup (simple_one_for_one,
// temporary children), so a crashing handler fails that call only.

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include <caf/allowed_unsafe_message_type.hpp>
#include <nlohmann/json.hpp>

#include "protocol/catalog.hpp"
#include "supervision/child_spec.hpp"

namespace cafmcp::protocol {

class request_sink;

/// Everything one tools/call needs. Its destructor is the completion
/// guard: a call that was neither answered nor cancelled gets -32603.
struct call_job {
  const tool_def* tool = nullptr;
  nlohmann::json id;
  nlohmann::json arguments;
  nlohmann::json meta;
  std::string session_handle;
  std::shared_ptr<request_sink> sink;
  std::shared_ptr<std::atomic<bool>> cancelled = std::make_shared<std::atomic<bool>>(false);
  std::function<caf::actor()> session_manager;
  std::function<nlohmann::json(nlohmann::json)> decorate; // era-specific result fields
  std::function<void()> on_finish;                         // e.g. forget the cancel flag
  std::atomic<bool> answered{false};

  /// Sends the response once; false if it was sent (or cancelled) before.
  bool answer(const nlohmann::json& response);
  ~call_job();
};

using call_job_ptr = std::shared_ptr<call_job>;

/// The simple_one_for_one template of tool_sup: start_child's argument is a
/// call_job_ptr.
supervision::child_spec tool_call_template();

} // namespace cafmcp::protocol

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cafmcp::protocol::call_job_ptr)
