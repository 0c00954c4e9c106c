// Input rounds of the legacy eras: a call's input requests sent to the client, its answers gathered, the call run again.
#include "protocol/endpoint.hpp"

#include "protocol/detail/endpoint_state.hpp"
#include "protocol/tool_runner.hpp"

namespace cafmcp::protocol {

using namespace detail;

namespace {

constexpr size_t max_waiting_inputs = 64; // legacy calls of one session waiting for the client

} // namespace

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

} // namespace cafmcp::protocol
