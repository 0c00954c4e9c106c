// Server-initiated traffic and multi-step calls: subscriptions/listen and
// legacy subscriptions, the Tasks extension, input requests (MRTR and
// legacy server-to-client requests), logging, and requestState sealing.

#include <doctest/doctest.h>

#include "protocol/base64.hpp"
#include "protocol/request_state.hpp"
#include "tests/support/endpoint_fixture.hpp"

using namespace cafmcp;
using namespace cafmcp::protocol;
using namespace cafmcp::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const json tasks_caps = json{{"extensions", {{"io.modelcontextprotocol/tasks", json::object()}}}};

json request(int id, const std::string& method, json params) {
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}};
}

json with_meta(json params, json caps = json::object()) {
  params["_meta"] = modern_meta(std::move(caps));
  return params;
}

tool_def quiet_tool(const std::string& name) {
  return tool_def{name, "", "added at run time", json{{"type", "object"}}, nullptr, nullptr,
                  sync_tool([](const json&) { return tool_result::text("hi"); }), true};
}

} // namespace

TEST_CASE_FIXTURE(endpoint_fixture, "subscriptions/listen acknowledges first, tags every notification and ends gracefully") {
  auto sink = std::make_shared<test_sink>();
  ep->handle_value(request(7, "subscriptions/listen",
                           with_meta({{"notifications",
                                       {{"toolsListChanged", true},
                                        {"promptsListChanged", false},
                                        {"resourceSubscriptions", {"cafmcp://server/info"}}}}})),
                   sink);
  auto ack = sink->next();
  CHECK(ack["method"] == "notifications/subscriptions/acknowledged");
  CHECK(ack["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"] == 7);
  CHECK(ack["params"]["notifications"]
        == json({{"toolsListChanged", true}, {"resourceSubscriptions", {"cafmcp://server/info"}}}));
  // A tool added at run time: tools list_changed, tagged with the listen id.
  env.catalog->update([](catalog& c) { c.add_tool(quiet_tool("late")); });
  auto changed = sink->next();
  CHECK(changed["method"] == "notifications/tools/list_changed");
  CHECK(changed["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"] == 7);
  CHECK(modern("tools/call", json{{"name", "late"}})["result"]["content"][0]["text"] == "hi");
  env.catalog->resource_updated("cafmcp://server/info");
  auto updated = sink->next();
  CHECK(updated["method"] == "notifications/resources/updated");
  CHECK(updated["params"]["uri"] == "cafmcp://server/info");
  CHECK(updated["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"] == 7);
  // Not asked for: prompts, other resources.
  env.catalog->update([](catalog& c) { c.remove_prompt("greeting"); });
  env.catalog->resource_updated("cafmcp://echo/x");
  CHECK(sink->quiet_for(200ms));
  // The node stops: the stream ends with a complete result naming it.
  env.hub()->close_all();
  auto end = sink->next();
  CHECK(end["id"] == 7);
  CHECK(end["result"]["resultType"] == "complete");
  CHECK(end["result"]["_meta"]["io.modelcontextprotocol/subscriptionId"] == 7);
}

TEST_CASE_FIXTURE(endpoint_fixture, "a cancelled listen receives nothing more") {
  auto sink = std::make_shared<test_sink>();
  ep->handle_value(request(3, "subscriptions/listen", with_meta({{"notifications", {{"toolsListChanged", true}}}})),
                   sink);
  CHECK(sink->next()["method"] == "notifications/subscriptions/acknowledged");
  ep->handle_text(R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3}})", sink);
  env.catalog->update([](catalog& c) { c.add_tool(quiet_tool("late")); });
  CHECK(sink->quiet_for(200ms));
  CHECK(env.hub()->subscribers() == 0);
}

TEST_CASE_FIXTURE(endpoint_fixture, "subscriptions/listen refuses a bad filter precisely") {
  CHECK(modern("subscriptions/listen")["error"]["code"] == -32602);
  CHECK(modern("subscriptions/listen", json{{"notifications", {{"toolsListChanged", "yes"}}}})["error"]["code"] == -32602);
  auto unknown = modern("subscriptions/listen", json{{"notifications", {{"resourceSubscriptions", {"nope://x"}}}}});
  CHECK(unknown["error"]["code"] == -32602);
  CHECK(unknown["error"]["data"]["uri"] == "nope://x");
  auto no_ext = modern("subscriptions/listen", json{{"notifications", {{"taskIds", {"abc"}}}}});
  CHECK(no_ext["error"]["code"] == -32021);
  CHECK(no_ext["error"]["data"]["requiredCapabilities"]["extensions"].contains("io.modelcontextprotocol/tasks"));
}

TEST_CASE_FIXTURE(endpoint_fixture, "a legacy session gets list_changed and updates of the resources it subscribed to") {
  auto pushed = std::make_shared<test_sink>();
  ep->set_push([pushed](const json& n) { pushed->notify(n); });
  legacy_init();
  env.catalog->update([](catalog& c) { c.add_tool(quiet_tool("late")); });
  CHECK(pushed->next()["method"] == "notifications/tools/list_changed");
  env.catalog->resource_updated("cafmcp://server/info");
  CHECK(pushed->quiet_for(150ms)); // not subscribed yet
  CHECK(call("resources/subscribe", json{{"uri", "cafmcp://server/info"}})["result"] == json::object());
  env.catalog->resource_updated("cafmcp://server/info");
  auto n = pushed->next();
  CHECK(n["method"] == "notifications/resources/updated");
  CHECK(n["params"]["uri"] == "cafmcp://server/info");
  CHECK(call("resources/unsubscribe", json{{"uri", "cafmcp://server/info"}})["result"] == json::object());
  env.catalog->resource_updated("cafmcp://server/info");
  CHECK(pushed->quiet_for(150ms));
}

TEST_CASE_FIXTURE(endpoint_fixture, "a catalog edit that throws changes nothing and notifies nobody") {
  auto pushed = std::make_shared<test_sink>();
  ep->set_push([pushed](const json& n) { pushed->notify(n); });
  legacy_init();
  CHECK_THROWS_AS(env.catalog->update([](catalog& c) {
    c.add_tool(quiet_tool("late"));
    c.add_tool(quiet_tool("echo")); // a duplicate
  }),
                  std::invalid_argument);
  CHECK(pushed->quiet_for(150ms));
  CHECK(env.catalog->snapshot()->find_tool("late") == nullptr);
}

TEST_CASE_FIXTURE(endpoint_fixture, "sleep runs as a task for a client with the Tasks extension - tasks/get reports it") {
  auto created = modern("tools/call", json{{"name", "sleep"}, {"arguments", {{"ms", 300}}}}, tasks_caps)["result"];
  CHECK(created["resultType"] == "task");
  CHECK(created["status"] == "working");
  auto id = created["taskId"].get<std::string>();
  CHECK(id.size() == 32);
  CHECK(created["ttlMs"].is_number_integer());
  CHECK(created["pollIntervalMs"].is_number_integer());
  CHECK(created["createdAt"].get<std::string>().back() == 'Z');
  // Durable creation: tasks/get knows it at once.
  auto polled = modern("tasks/get", json{{"taskId", id}}, tasks_caps)["result"];
  CHECK(polled["resultType"] == "complete");
  CHECK(polled["status"] == "working");
  json done;
  for (int i = 0; i < 50; ++i) { // bounded: 5 s
    done = modern("tasks/get", json{{"taskId", id}}, tasks_caps)["result"];
    if (done["status"] != "working")
      break;
    std::this_thread::sleep_for(100ms);
  }
  CHECK(done["status"] == "completed");
  CHECK(done["result"]["structuredContent"]["slept_ms"] == 300);
  // Without the extension the same call answers inline.
  auto inline_result = modern("tools/call", json{{"name", "sleep"}, {"arguments", {{"ms", 10}}}})["result"];
  CHECK(inline_result["resultType"] == "complete");
}

TEST_CASE_FIXTURE(endpoint_fixture, "tasks/cancel stops a task, which stays cancelled, and listeners hear of it") {
  auto id = modern("tools/call", json{{"name", "sleep"}, {"arguments", {{"ms", 5000}}}}, tasks_caps)["result"]["taskId"];
  auto sink = std::make_shared<test_sink>();
  ep->handle_value(request(40, "subscriptions/listen", with_meta({{"notifications", {{"taskIds", {id}}}}}, tasks_caps)),
                   sink);
  auto ack = sink->next();
  CHECK(ack["params"]["notifications"]["taskIds"] == json::array({id}));
  CHECK(modern("tasks/cancel", json{{"taskId", id}}, tasks_caps)["result"]["resultType"] == "complete");
  auto note = sink->next();
  CHECK(note["method"] == "notifications/tasks");
  CHECK(note["params"]["taskId"] == id);
  CHECK(note["params"]["status"] == "cancelled");
  CHECK(note["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"] == 40);
  std::this_thread::sleep_for(300ms);
  CHECK(modern("tasks/get", json{{"taskId", id}}, tasks_caps)["result"]["status"] == "cancelled");
  CHECK(*env.inflight == 0); // the sleep really stopped
}

TEST_CASE_FIXTURE(endpoint_fixture, "task methods need the extension and a known task id") {
  CHECK(modern("tasks/get", json{{"taskId", "x"}})["error"]["code"] == -32021);
  auto unknown = modern("tasks/get", json{{"taskId", "0123"}}, tasks_caps);
  CHECK(unknown["error"]["code"] == -32602);
  CHECK(unknown["error"]["message"].get<std::string>().find("Task not found") != std::string::npos);
  CHECK(modern("tasks/cancel", json{{"taskId", "0123"}}, tasks_caps)["error"]["code"] == -32602);
  CHECK(modern("tasks/update", json{{"taskId", "0123"}, {"inputResponses", json::object()}}, tasks_caps)["error"]["code"]
        == -32602);
  CHECK(modern("tasks/get", json::object(), tasks_caps)["error"]["code"] == -32602);
}

TEST_CASE_FIXTURE(endpoint_fixture, "a tool asks a 2026-07-28 client for input: input_required, then a sealed retry") {
  json caps{{"elicitation", json::object()}};
  json args{{"message", "who are you?"}};
  auto first = modern("tools/call", json{{"name", "test_elicitation"}, {"arguments", args}}, caps)["result"];
  REQUIRE(first["resultType"] == "input_required");
  CHECK(first["inputRequests"]["user"]["method"] == "elicitation/create");
  CHECK(first["inputRequests"]["user"]["params"]["message"] == "who are you?");
  CHECK_FALSE(first.contains("ttlMs")); // not cacheable
  auto state = first["requestState"].get<std::string>();
  json answer{{"user", {{"action", "accept"}, {"content", {{"username", "ann"}, {"email", "a@x"}}}}}};
  auto second = modern("tools/call",
                       json{{"name", "test_elicitation"}, {"arguments", args}, {"inputResponses", answer},
                            {"requestState", state}},
                       caps)["result"];
  CHECK(second["resultType"] == "complete");
  CHECK(second["content"][0]["text"].get<std::string>().find("ann") != std::string::npos);
  // A tampered state, or one for other arguments, is refused.
  auto tampered = state;
  tampered[5] = tampered[5] == 'A' ? 'B' : 'A';
  auto bad = modern("tools/call",
                    json{{"name", "test_elicitation"}, {"arguments", args}, {"inputResponses", answer},
                         {"requestState", tampered}},
                    caps);
  CHECK(bad["error"]["code"] == -32602);
  auto other = modern("tools/call",
                      json{{"name", "test_elicitation"}, {"arguments", {{"message", "else"}}},
                           {"inputResponses", answer}, {"requestState", state}},
                      caps);
  CHECK(other["error"]["code"] == -32602);
  CHECK(other["error"]["message"].get<std::string>().find("another request") != std::string::npos);
}

TEST_CASE_FIXTURE(endpoint_fixture, "a tool needing a capability the client did not declare fails with -32021") {
  auto r = modern("tools/call", json{{"name", "test_sampling"}, {"arguments", {{"prompt", "hi"}}}});
  CHECK(r["error"]["code"] == -32021);
  CHECK(r["error"]["data"]["requiredCapabilities"] == json({{"sampling", json::object()}}));
  CHECK(*env.inflight == 0);
}

TEST_CASE_FIXTURE(endpoint_fixture, "a legacy client is asked with a server-to-client request and the call completes") {
  legacy_init("2025-11-25", json{{"sampling", json::object()}});
  auto sink = std::make_shared<test_sink>();
  ep->handle_value(request(11, "tools/call", json{{"name", "test_sampling"}, {"arguments", {{"prompt", "2+2?"}}}}), sink);
  auto ask = sink->next();
  REQUIRE(ask["method"] == "sampling/createMessage");
  CHECK(ask["params"]["messages"][0]["content"]["text"] == "2+2?");
  CHECK(ask["id"].is_string());
  json reply{{"jsonrpc", "2.0"},
             {"id", ask["id"]},
             {"result", {{"role", "assistant"}, {"content", {{"type", "text"}, {"text", "4"}}}, {"model", "m"}}}};
  CHECK(ep->handle_value(reply, sink) == 0);
  auto done = sink->next();
  CHECK(done["id"] == 11);
  CHECK(done["result"]["content"][0]["text"] == "LLM response: 4");
  // A client that answers with an error gets a tool error, not a hang.
  ep->handle_value(request(12, "tools/call", json{{"name", "test_sampling"}, {"arguments", {{"prompt", "x"}}}}), sink);
  auto ask2 = sink->next();
  ep->handle_value(json{{"jsonrpc", "2.0"}, {"id", ask2["id"]}, {"error", {{"code", -1}, {"message", "user said no"}}}},
                   sink);
  auto refused = sink->next();
  CHECK(refused["id"] == 12);
  CHECK(refused["result"]["isError"] == true);
}

TEST_CASE_FIXTURE(endpoint_fixture, "tool log messages follow the request's log level") {
  auto sink = std::make_shared<test_sink>();
  auto meta = modern_meta();
  meta["io.modelcontextprotocol/logLevel"] = "info";
  ep->handle_value(request(5, "tools/call", json{{"name", "test_tool_with_logging"}, {"_meta", meta}}), sink);
  for (auto text : {"Tool execution started", "Tool processing data", "Tool execution completed"}) {
    auto n = sink->next();
    CHECK(n["method"] == "notifications/message");
    CHECK(n["params"]["level"] == "info");
    CHECK(n["params"]["data"] == text);
  }
  CHECK(sink->next()["id"] == 5);
  // No logLevel: no log messages at all; "error" only: info is filtered.
  auto quiet = std::make_shared<test_sink>();
  ep->handle_value(request(6, "tools/call", json{{"name", "test_tool_with_logging"}, {"_meta", modern_meta()}}), quiet);
  CHECK(quiet->next()["id"] == 6);
  meta["io.modelcontextprotocol/logLevel"] = "loud";
  CHECK(call("tools/call", json{{"name", "echo"}, {"arguments", {{"text", "x"}}}, {"_meta", meta}})["error"]["code"]
        == -32602);
}

TEST_CASE("a sealed requestState opens only unaltered, unexpired and under the same key") {
  request_state_sealer sealer;
  auto token = sealer.seal(json{{"k", 1}});
  auto opened = sealer.open(token);
  REQUIRE(std::holds_alternative<json>(opened));
  CHECK(std::get<json>(opened) == json{{"k", 1}});
  CHECK(std::holds_alternative<std::string>(request_state_sealer{}.open(token))); // another key
  CHECK(std::holds_alternative<std::string>(sealer.open("garbage")));
  CHECK(std::holds_alternative<std::string>(sealer.open(token + "x")));
  request_state_sealer short_lived{"key", std::chrono::milliseconds{-1}};
  auto expired = short_lived.open(short_lived.seal(json{{"k", 1}}));
  REQUIRE(std::holds_alternative<std::string>(expired));
  CHECK(std::get<std::string>(expired).find("expired") != std::string::npos);
}

TEST_CASE("base64 round-trips bytes in both alphabets and refuses foreign characters") {
  std::string bytes{"\x00\xff\xfe hello \x7f", 12};
  CHECK(base64_decode(base64_encode(bytes)) == bytes);
  CHECK(base64_decode(base64_encode(bytes, true)) == bytes);
  CHECK(base64_encode("hi") == "aGk=");
  CHECK(base64_encode("hi", true) == "aGk");
  CHECK_FALSE(base64_decode("a*b").has_value());
}
