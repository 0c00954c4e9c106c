#pragma once

// An MCP endpoint in-process with the real core and protocol supervisors
// (tools run as actors under tool_sup), and a sink that collects what it
// sends. Shared by the protocol tests.

#include <condition_variable>
#include <deque>

#include <doctest/doctest.h>

#include "actors/core_sup.hpp"
#include "actors/messages.hpp"
#include "protocol/builtin.hpp"
#include "protocol/conformance_tools.hpp"
#include "protocol/endpoint.hpp"
#include "protocol/protocol_sup.hpp"
#include "protocol/tool_runner.hpp"
#include "protocol/versions.hpp"
#include "supervision/supervisor.hpp"
#include "tests/support/actor_fixture.hpp"

namespace cafmcp::test {
using namespace cafmcp::protocol;
using namespace std::chrono_literals;
using nlohmann::json;
} // namespace cafmcp::test

namespace cafmcp::test {

/// Collects everything sent to it; tests wait (bounded) for messages.
class test_sink : public request_sink {
public:
  void notify(const json& n) override { push(n); }
  void respond(const json& r) override { push(r); }

  json next(std::chrono::milliseconds timeout = 5s) {
    std::unique_lock<std::mutex> guard{mtx_};
    if (!cv_.wait_for(guard, timeout, [this] { return !items_.empty(); }))
      return json{{"timeout", true}};
    auto out = items_.front();
    items_.pop_front();
    return out;
  }

  bool quiet_for(std::chrono::milliseconds d) {
    std::unique_lock<std::mutex> guard{mtx_};
    return !cv_.wait_for(guard, d, [this] { return !items_.empty(); });
  }

private:
  void push(const json& x) {
    std::lock_guard<std::mutex> guard{mtx_};
    items_.push_back(x);
    cv_.notify_all();
  }
  std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<json> items_;
};

inline json modern_meta(json caps = json::object()) {
  return json{{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
              {"io.modelcontextprotocol/clientCapabilities", std::move(caps)},
              {"io.modelcontextprotocol/clientInfo", {{"name", "test"}, {"version", "1"}}}};
}

struct endpoint_fixture : fixture {
  std::shared_ptr<actors::name_table> names = actors::name_table::make();
  std::shared_ptr<catalog> cat;
  std::shared_ptr<endpoint> ep;
  endpoint_env env;
  caf::actor root;
  int next_id = 1;

  endpoint_fixture() {
    actors::register_types(cfg);
    cat = std::make_shared<catalog>(server_identity{"cafmcp-test", "cafmcp test", "9.9.9", "Be nice."});
    add_builtins(*cat);
    add_conformance_tools(*cat);
    cat->add_tool(tool_def{"boom", "", "throws", json{{"type", "object"}}, nullptr, nullptr,
                           [](const json&, std::shared_ptr<tool_call>) -> void {
                             throw std::runtime_error("kaboom");
                           },
                           false});
    cat->add_tool(tool_def{"silent", "", "never replies", json{{"type", "object"}}, nullptr, nullptr,
                           [](const json&, std::shared_ptr<tool_call> call) { call->self()->quit(); },
                           false});
    cat->add_tool(inline_tool(tool_def{"inline_boom", "", "throws where the request is read", json{{"type", "object"}}, nullptr,
                                       nullptr, nullptr},
                              [](const json&) -> tool_result { throw std::runtime_error("inline kaboom"); }));
    cat->page_size = 3;
    supervision::supervisor_flags flags{supervision::strategy::one_for_one, 5, 60000ms};
    root = start_sup(flags,
                     {actors::core_supervisor(actors::core_config{}, names),
                      protocol_supervisor(flags, 2, names)},
                     "/root");
    REQUIRE(supervision::await_started(sys, root, 5s) == caf::none);
    env = endpoint_env::serving(cat);
    auto workers = std::make_shared<tool_workers>(names, 2);
    env.tool_worker = [workers] { return workers->next(); };
    env.session_manager = [n = names] { return n->lookup("session_manager"); };
    ep = std::make_shared<endpoint>(env);
  }

  /// Sends one request; returns the first message that comes back.
  json call(const std::string& method, json params, std::shared_ptr<test_sink> sink = nullptr) {
    if (!sink)
      sink = std::make_shared<test_sink>();
    json msg{{"jsonrpc", "2.0"}, {"id", next_id++}, {"method", method}};
    if (!params.is_null())
      msg["params"] = std::move(params);
    ep->handle_text(msg.dump(), sink);
    return sink->next();
  }

  json modern(const std::string& method, json params = json::object(), json caps = json::object()) {
    params["_meta"] = modern_meta(std::move(caps));
    return call(method, std::move(params));
  }

  json legacy_init(const std::string& version = "2025-11-25", json caps = json::object()) {
    return call("initialize", json{{"protocolVersion", version},
                                   {"capabilities", std::move(caps)},
                                   {"clientInfo", {{"name", "t"}, {"version", "1"}}}});
  }
};

} // namespace cafmcp::test
