#pragma once

// Tool calls a routing rule sends to other cluster members (a target's
// "members"). The protocol layer knows nothing of clusters: the node gives
// its endpoints this interface, and a routed call to a member runs as a
// tool whose handler hands the call over here.

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "protocol/catalog.hpp"

namespace cafmcp::protocol {

class member_calls {
public:
  virtual ~member_calls() = default;
  /// This node's member name (a target naming it runs the tool here).
  virtual std::string me() const = 0;
  /// Whether `member` can take a call now: up, and reachable from here.
  virtual bool reachable(const std::string& member) const = 0;
  /// Runs `tool` with `arguments` on `member` for `call` (its subject and
  /// tenant; progress and log messages come back to it, its cancellation
  /// goes there) and answers `call` with the member's answer, or with
  /// -32603 naming the member when it fails or is lost meanwhile.
  virtual void call(const std::string& member, const std::string& tool, const nlohmann::json& arguments,
                    std::shared_ptr<tool_call> call) = 0;
  /// Sends another request (prompts/get) to `member` for `subject` and
  /// `tenant`: `done` gets its result, or its error with the member named
  /// (-32603 when it fails or is lost meanwhile).
  virtual void relay(const std::string& member, const std::string& method, const nlohmann::json& params,
                     const std::string& subject, const std::string& tenant, relay_reply done) = 0;
};

} // namespace cafmcp::protocol
