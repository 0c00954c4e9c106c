// protocol/upstream_client: the MCP client of an upstream server, driven by hand (no process).
#include <doctest/doctest.h>

#include <tuple>

#include <nlohmann/json.hpp>

#include "protocol/upstream_client.hpp"

using namespace cafmcp::protocol;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

using clock_type = upstream_client::clock;

/// What `client` wrote (its outbox empties).
std::vector<json> sent_by(upstream_client& client) {
    std::vector<json> out;
    for (auto& l : client.take_outbox())
      out.push_back(json::parse(l));
    return out;
}

/// Answers a started client's initialize with `capabilities`, and each
/// listing it sends then with an empty list.
void answer_start(upstream_client& client, const json& capabilities, upstream_client::clock::time_point at) {
  auto init = sent_by(client);
  client.on_line(json{{"jsonrpc", "2.0"}, {"id", init.at(0)["id"]}, {"result", {{"capabilities", capabilities}}}}.dump(),
                 at);
  for (auto& l : sent_by(client)) // initialized, then the listings
    if (l.contains("id"))
      client.on_line(json{{"jsonrpc", "2.0"},
                          {"id", l["id"]},
                          {"result",
                           {{"tools", json::array()},
                            {"prompts", json::array()},
                            {"resources", json::array()},
                            {"resourceTemplates", json::array()}}}}
                       .dump(),
                     at);
}

/// A client with its events recorded.
struct fixture {
  std::vector<std::vector<json>> tool_lists, prompt_lists, resource_lists, template_lists;
  std::vector<std::pair<upstream_client::call_key, json>> results;
  std::vector<std::pair<upstream_client::call_key, rpc_error>> errors;
  std::vector<std::pair<upstream_client::call_key, json>> progress;
  std::vector<std::string> protocol_errors;
  clock_type::time_point t0 = clock_type::now();
  upstream_client client{"ev", events()};

  upstream_client::events events() {
    upstream_client::events ev;
    ev.on_tools = [this](std::vector<json> t) { tool_lists.push_back(std::move(t)); };
    ev.on_prompts = [this](std::vector<json> p) { prompt_lists.push_back(std::move(p)); };
    ev.on_resources = [this](std::vector<json> r) { resource_lists.push_back(std::move(r)); };
    ev.on_templates = [this](std::vector<json> t) { template_lists.push_back(std::move(t)); };
    ev.on_answer = [this](upstream_client::call_key k, std::optional<json> r, std::optional<rpc_error> e) {
      if (r)
        results.emplace_back(k, *r);
      else
        errors.emplace_back(k, *e);
    };
    ev.on_progress = [this](upstream_client::call_key k, const json& p) { progress.emplace_back(k, p); };
    ev.on_protocol_error = [this](const std::string& w) { protocol_errors.push_back(w); };
    return ev;
  }

  std::vector<json> sent() { return sent_by(client); }

  void feed(const json& msg) { client.on_line(msg.dump(), t0); }

  /// Started, initialize answered with `capabilities`: the listings that went out next.
  std::vector<json> initialized(json capabilities) {
    client.start(t0 + 5s);
    auto init = sent();
    feed(json{{"jsonrpc", "2.0"}, {"id", init.at(0)["id"]},
              {"result", {{"protocolVersion", "2025-06-18"}, {"capabilities", std::move(capabilities)}}}});
    return sent();
  }

  /// initialize answered, one page of tools listed: ready.
  void handshake(json tools = json::array({{{"name", "echo"}}})) {
    client.start(t0 + 5s);
    auto init = sent();
    REQUIRE(init.size() == 1);
    feed(json{{"jsonrpc", "2.0"}, {"id", init[0]["id"]}, {"result", {{"protocolVersion", "2025-06-18"},
                                                                      {"capabilities", json::object()},
                                                                      {"serverInfo", {{"name", "s"}, {"version", "1"}}}}}});
    auto next = sent();
    REQUIRE(next.size() == 2);
    feed(json{{"jsonrpc", "2.0"}, {"id", next[1]["id"]}, {"result", {{"tools", tools}}}});
  }
};

/// A client that relays input requests and call logs, its events recorded.
struct relay_fixture {
  std::vector<std::tuple<upstream_client::call_key, json, std::string>> asked; // key, request id, method and params
  std::vector<std::pair<upstream_client::call_key, json>> call_logs;
  std::vector<json> node_logs;
  fixture f;
  upstream_client client{"ev", events()};

  upstream_client::events events() {
    auto ev = f.events();
    ev.on_input_request = [this](upstream_client::call_key k, json id, const std::string& method, const json& params) {
      asked.emplace_back(k, id, method + " " + params.dump());
    };
    ev.on_call_log = [this](upstream_client::call_key k, const json& p) { call_logs.emplace_back(k, p); };
    ev.on_log = [this](const json& p) { node_logs.push_back(p); };
    return ev;
  }

  std::vector<json> sent() { return sent_by(client); }

  /// Started and ready (no tools): what initialize offered.
  json handshake() {
    client.start(f.t0 + 5s);
    auto init = sent();
    client.on_line(json{{"jsonrpc", "2.0"}, {"id", init.at(0)["id"]}, {"result", json::object()}}.dump(), f.t0);
    auto list = sent();
    client.on_line(json{{"jsonrpc", "2.0"}, {"id", list.at(1)["id"]}, {"result", {{"tools", json::array()}}}}.dump(),
                   f.t0);
    return init[0]["params"]["capabilities"];
  }
};

} // namespace

TEST_CASE("an upstream session starts with initialize, then initialized and tools/list, then is ready") {
  fixture f;
  f.client.start(f.t0 + 5s);
  auto init = f.sent();
  REQUIRE(init.size() == 1);
  CHECK(init[0]["method"] == "initialize");
  CHECK(init[0]["params"]["protocolVersion"] == upstream_client::offered_version);
  CHECK(f.client.current_phase() == upstream_client::phase::initializing);
  f.feed(json{{"jsonrpc", "2.0"}, {"id", init[0]["id"]}, {"result", {{"protocolVersion", "2025-06-18"}}}});
  auto next = f.sent();
  REQUIRE(next.size() == 2);
  CHECK(next[0]["method"] == "notifications/initialized");
  CHECK(next[1]["method"] == "tools/list");
  // Two pages: the second is asked for with the cursor, the tools come together.
  f.feed(json{{"jsonrpc", "2.0"}, {"id", next[1]["id"]}, {"result", {{"tools", {{{"name", "a"}}}}, {"nextCursor", "p2"}}}});
  auto page2 = f.sent();
  REQUIRE(page2.size() == 1);
  CHECK(page2[0]["params"]["cursor"] == "p2");
  CHECK(f.tool_lists.empty());
  f.feed(json{{"jsonrpc", "2.0"}, {"id", page2[0]["id"]}, {"result", {{"tools", {{{"name", "b"}}}}}}});
  REQUIRE(f.tool_lists.size() == 1);
  CHECK(f.tool_lists[0].size() == 2);
  CHECK(f.client.current_phase() == upstream_client::phase::ready);
}

TEST_CASE("calls made before an upstream is ready wait for it, then go out in order") {
  fixture f;
  f.client.start(f.t0 + 5s);
  f.client.call(1, "echo", json{{"m", 1}}, false, f.t0 + 10s);
  f.client.call(2, "echo", json{{"m", 2}}, false, f.t0 + 10s);
  auto init = f.sent();
  REQUIRE(init.size() == 1); // only initialize so far
  f.feed(json{{"jsonrpc", "2.0"}, {"id", init[0]["id"]}, {"result", json::object()}});
  auto list = f.sent();
  f.feed(json{{"jsonrpc", "2.0"}, {"id", list[1]["id"]}, {"result", {{"tools", json::array()}}}});
  auto calls = f.sent();
  REQUIRE(calls.size() == 2);
  CHECK(calls[0]["params"]["arguments"]["m"] == 1);
  CHECK(calls[1]["params"]["arguments"]["m"] == 2);
}

TEST_CASE("a relayed call gets its result, its progress, and the upstream's own errors") {
  fixture f;
  f.handshake();
  f.client.call(7, "echo", json{{"message", "hi"}}, true, f.t0 + 10s);
  f.client.call(8, "echo", json::object(), false, f.t0 + 10s);
  auto calls = f.sent();
  REQUIRE(calls.size() == 2);
  CHECK(calls[0]["method"] == "tools/call");
  CHECK(calls[0]["params"]["name"] == "echo");
  auto token = calls[0]["params"]["_meta"]["progressToken"];
  REQUIRE(token.is_string());
  CHECK_FALSE(calls[1]["params"].contains("_meta"));
  f.feed(json{{"jsonrpc", "2.0"}, {"method", "notifications/progress"},
              {"params", {{"progressToken", token}, {"progress", 1}, {"total", 2}}}});
  f.feed(json{{"jsonrpc", "2.0"}, {"method", "notifications/progress"},
              {"params", {{"progressToken", "someone-else"}, {"progress", 1}}}});
  REQUIRE(f.progress.size() == 1);
  CHECK(f.progress[0].first == 7);
  CHECK(f.progress[0].second == json{{"progress", 1}, {"total", 2}});
  f.feed(json{{"jsonrpc", "2.0"}, {"id", calls[0]["id"]}, {"result", {{"content", json::array()}}}});
  f.feed(json{{"jsonrpc", "2.0"}, {"id", calls[1]["id"]}, {"error", {{"code", -32602}, {"message", "bad message"}}}});
  REQUIRE(f.results.size() == 1);
  CHECK(f.results[0].first == 7);
  REQUIRE(f.errors.size() == 1);
  CHECK(f.errors[0].first == 8);
  CHECK(f.errors[0].second.code == -32602);
  CHECK(f.errors[0].second.message == "upstream ev: bad message");
  CHECK_FALSE(f.client.has_open_calls());
}

TEST_CASE("a cancelled call is cancelled upstream and its late answer is dropped") {
  fixture f;
  f.handshake();
  f.client.call(3, "slow", json::object(), false, f.t0 + 10s);
  auto call = f.sent().at(0);
  f.client.cancel(3, "cancelled by the client", f.t0);
  auto out = f.sent();
  REQUIRE(out.size() == 1);
  CHECK(out[0]["method"] == "notifications/cancelled");
  CHECK(out[0]["params"]["requestId"] == call["id"]);
  f.feed(json{{"jsonrpc", "2.0"}, {"id", call["id"]}, {"result", json::object()}});
  CHECK(f.results.empty());
  CHECK(f.errors.empty());
}

TEST_CASE("a call past its deadline fails and is cancelled upstream, and a slow handshake ends the session") {
  fixture f;
  f.handshake();
  f.client.call(4, "slow", json::object(), false, f.t0 + 1s);
  f.sent();
  CHECK(f.client.expire(f.t0 + 500ms));
  CHECK(f.errors.empty());
  CHECK(f.client.expire(f.t0 + 2s)); // ready: the session itself lives on
  REQUIRE(f.errors.size() == 1);
  CHECK(f.errors[0].second.message == "upstream ev did not answer in time");
  CHECK(f.sent().at(0)["method"] == "notifications/cancelled");

  fixture slow;
  slow.client.start(slow.t0 + 1s);
  CHECK(slow.client.expire(slow.t0 + 500ms));
  CHECK_FALSE(slow.client.expire(slow.t0 + 2s));
}

TEST_CASE("when the upstream goes away every open call fails with the reason") {
  fixture f;
  f.handshake();
  f.client.call(5, "a", json::object(), false, f.t0 + 10s);
  f.client.call(6, "b", json::object(), false, f.t0 + 10s);
  f.client.fail_all("exited while the call ran (killed by signal 9)");
  REQUIRE(f.errors.size() == 2);
  CHECK(f.errors[0].second.code == rpc_code::internal_error);
  CHECK(f.errors[0].second.message == "upstream ev exited while the call ran (killed by signal 9)");
  CHECK(f.errors[0].second.data == json{{"upstream", "ev"}});
}

TEST_CASE("an upstream's list_changed lists its tools again, its ping is answered, its other requests refused") {
  fixture f;
  f.handshake();
  f.feed(json{{"jsonrpc", "2.0"}, {"method", "notifications/tools/list_changed"}});
  auto list = f.sent();
  REQUIRE(list.size() == 1);
  CHECK(list[0]["method"] == "tools/list");
  f.feed(json{{"jsonrpc", "2.0"}, {"id", list[0]["id"]}, {"result", {{"tools", {{{"name", "x"}}, {{"name", "y"}}}}}}});
  REQUIRE(f.tool_lists.size() == 2);
  CHECK(f.tool_lists[1].size() == 2);
  f.feed(json{{"jsonrpc", "2.0"}, {"id", "s1"}, {"method", "ping"}});
  f.feed(json{{"jsonrpc", "2.0"}, {"id", "s2"}, {"method", "sampling/createMessage"}, {"params", json::object()}});
  auto answers = f.sent();
  REQUIRE(answers.size() == 2);
  CHECK(answers[0] == json{{"jsonrpc", "2.0"}, {"id", "s1"}, {"result", json::object()}});
  CHECK(answers[1]["error"]["code"] == rpc_code::method_not_found);
  f.client.on_line("not json", f.t0);
  CHECK(f.protocol_errors.size() == 1);
}

TEST_CASE("a failed relisting keeps the tools an upstream had") {
  fixture f;
  f.handshake();
  f.feed(json{{"jsonrpc", "2.0"}, {"method", "notifications/tools/list_changed"}});
  auto list = f.sent();
  f.feed(json{{"jsonrpc", "2.0"}, {"id", list[0]["id"]}, {"error", {{"code", -32603}, {"message", "busy"}}}});
  CHECK(f.tool_lists.size() == 1); // only the first listing: nothing removed
  CHECK(f.protocol_errors.size() == 1);
}

TEST_CASE("an upstream whose first tools/list fails is not ready, and its handshake deadline ends the session") {
  fixture f;
  f.client.start(f.t0 + 1s);
  auto init = f.sent();
  f.feed(json{{"jsonrpc", "2.0"}, {"id", init[0]["id"]}, {"result", json::object()}});
  auto list = f.sent();
  f.feed(json{{"jsonrpc", "2.0"}, {"id", list[1]["id"]}, {"error", {{"code", -32601}, {"message", "no tools here"}}}});
  CHECK(f.client.current_phase() != upstream_client::phase::ready);
  CHECK(f.tool_lists.empty());
  CHECK(f.client.expire(f.t0 + 500ms));
  CHECK_FALSE(f.client.expire(f.t0 + 2s));
}

TEST_CASE("fields of an unexpected type from an upstream are its errors, read as absent") {
  fixture f;
  f.handshake();
  f.client.call(9, "x", json::object(), false, f.t0 + 10s);
  auto call = f.sent().at(0);
  f.feed(json{{"jsonrpc", "2.0"}, {"id", call["id"]}, {"error", {{"code", "nope"}, {"message", nullptr}}}});
  REQUIRE(f.errors.size() == 1);
  CHECK(f.errors[0].second.code == rpc_code::internal_error);
  CHECK(f.errors[0].second.message == "upstream ev: an error");
  f.feed(json{{"jsonrpc", "2.0"}, {"method", 5}});
  f.feed(json{{"jsonrpc", "2.0"}, {"method", "notifications/tools/list_changed"}});
  auto list = f.sent().at(0);
  f.feed(json{{"jsonrpc", "2.0"}, {"id", list["id"]}, {"result", {{"tools", json::array()}, {"nextCursor", nullptr}}}});
  CHECK(f.tool_lists.size() == 2);
}

TEST_CASE("an upstream with prompts has them listed too, relisted on list_changed, and prompts/get relayed") {
  fixture f;
  auto& client = f.client;
  auto sent = [&] { return f.sent(); };
  auto feed = [&](const json& m) { f.feed(m); };
  auto lists = f.initialized({{"prompts", json::object()}});
  REQUIRE(lists.size() == 3);
  CHECK(lists[1]["method"] == "tools/list");
  CHECK(lists[2]["method"] == "prompts/list");
  // Prompts in two pages; the tools listing alone makes the session ready.
  feed(json{{"jsonrpc", "2.0"}, {"id", lists[2]["id"]}, {"result", {{"prompts", {{{"name", "p1"}}}}, {"nextCursor", "c"}}}});
  auto page2 = sent();
  REQUIRE(page2.size() == 1);
  CHECK(page2[0]["params"]["cursor"] == "c");
  feed(json{{"jsonrpc", "2.0"}, {"id", lists[1]["id"]}, {"result", {{"tools", json::array()}}}});
  CHECK(client.current_phase() == upstream_client::phase::ready);
  feed(json{{"jsonrpc", "2.0"}, {"id", page2[0]["id"]}, {"result", {{"prompts", {{{"name", "p2"}}}}}}});
  REQUIRE(f.prompt_lists.size() == 1);
  CHECK(f.prompt_lists[0].size() == 2);

  client.request(7, "prompts/get", json{{"name", "p1"}, {"arguments", {{"city", "Oslo"}}}}, false, f.t0 + 5s);
  auto get = sent();
  REQUIRE(get.size() == 1);
  CHECK(get[0]["method"] == "prompts/get");
  CHECK(get[0]["params"]["arguments"]["city"] == "Oslo");
  feed(json{{"jsonrpc", "2.0"}, {"id", get[0]["id"]}, {"result", {{"messages", json::array()}}}});
  REQUIRE(f.results.size() == 1);
  CHECK(f.results[0].first == 7);

  feed(json{{"jsonrpc", "2.0"}, {"method", "notifications/prompts/list_changed"}});
  auto relist = sent();
  REQUIRE(relist.size() == 1);
  CHECK(relist[0]["method"] == "prompts/list");
  feed(json{{"jsonrpc", "2.0"}, {"id", relist[0]["id"]}, {"result", {{"prompts", {{{"name", "p3"}}}}}}});
  REQUIRE(f.prompt_lists.size() == 2);
  CHECK(f.prompt_lists[1][0]["name"] == "p3");
}

TEST_CASE("an upstream without the prompts capability is not asked for prompts") {
  fixture f;
  f.handshake(); // initialize, initialized, tools/list: nothing else went out
  CHECK(f.client.current_phase() == upstream_client::phase::ready);
  CHECK(f.sent().empty());
}

TEST_CASE("an upstream with resources has its resources and templates listed, and both again on list_changed") {
  fixture f;
  auto sent = [&] { return f.sent(); };
  auto feed = [&](const json& m) { f.feed(m); };
  auto lists = f.initialized({{"resources", json::object()}});
  REQUIRE(lists.size() == 4);
  CHECK(lists[2]["method"] == "resources/list");
  CHECK(lists[3]["method"] == "resources/templates/list");
  feed(json{{"jsonrpc", "2.0"}, {"id", lists[2]["id"]}, {"result", {{"resources", {{{"uri", "a://1"}}}}}}});
  feed(json{{"jsonrpc", "2.0"}, {"id", lists[3]["id"]},
            {"result", {{"resourceTemplates", {{{"uriTemplate", "a://{x}"}}}}}}});
  REQUIRE(f.resource_lists.size() == 1);
  CHECK(f.resource_lists[0][0]["uri"] == "a://1");
  REQUIRE(f.template_lists.size() == 1);
  CHECK(f.template_lists[0][0]["uriTemplate"] == "a://{x}");
  feed(json{{"jsonrpc", "2.0"}, {"method", "notifications/resources/list_changed"}});
  auto relist = sent();
  REQUIRE(relist.size() == 2);
  CHECK(relist[0]["method"] == "resources/list");
  CHECK(relist[1]["method"] == "resources/templates/list");
}

TEST_CASE("an upstream's input request goes to the call when it is the only request open - never guessed among several, nor while an ended call may still run") {
  relay_fixture r;
  auto& [asked, call_logs, node_logs, f, client] = r;
  auto sent = [&] { return r.sent(); };
  auto feed = [&](const json& msg, clock_type::time_point at) { client.on_line(msg.dump(), at); };
  auto t0 = f.t0;
  // Relaying, the client offers what it relays: servers ask only then.
  CHECK(r.handshake() == json{{"elicitation", json::object()}, {"sampling", json::object()}});
  auto ask = [](int id) {
    return json{{"jsonrpc", "2.0"}, {"id", id}, {"method", "elicitation/create"}, {"params", {{"message", "who?"}}}};
  };
  auto refusal = [&] {
    auto out = sent();
    REQUIRE(out.size() == 1);
    return out[0]["error"]["message"].get<std::string>();
  };

  feed(ask(70), t0); // nothing open: whose would it be?
  CHECK(refusal().find("(open: 0, ended in the last 30 s: 0)") != std::string::npos);

  client.call(7, "t", json::object(), false, t0 + 100s);
  sent();
  feed(ask(71), t0);
  REQUIRE(asked.size() == 1);
  CHECK(std::get<0>(asked[0]) == 7);
  CHECK(std::get<1>(asked[0]) == 71);
  CHECK(std::get<2>(asked[0]) == R"(elicitation/create {"message":"who?"})");
  CHECK(sent().empty()); // answered later, by the owner
  client.answer_server(71, json{{"action", "accept"}}, std::nullopt);
  CHECK(sent() == std::vector<json>{json{{"jsonrpc", "2.0"}, {"id", 71}, {"result", {{"action", "accept"}}}}});

  // A prompts/get open too: the request may be its, so it goes to neither.
  client.request(8, "prompts/get", json{{"name", "p"}}, false, t0 + 100s);
  auto get = sent().at(0);
  feed(json{{"jsonrpc", "2.0"}, {"id", 72}, {"method", "sampling/createMessage"}, {"params", json::object()}}, t0);
  CHECK(refusal()
        == "cafmcp relays sampling/createMessage to the client of a call only while that call is the only request open "
           "at upstream ev (open: 2, ended in the last 30 s: 0): it cannot tell whose this is");
  feed(json{{"jsonrpc", "2.0"}, {"id", get["id"]}, {"result", {{"messages", json::array()}}}}, t0);

  // A cancelled call may still run upstream: for ended_grace nothing is relayed.
  client.call(9, "t", json::object(), false, t0 + 100s);
  sent();
  client.cancel(9, "cancelled by the client", t0);
  sent();
  feed(ask(73), t0 + 29s);
  CHECK(refusal().find("(open: 1, ended in the last 30 s: 1)") != std::string::npos);
  feed(ask(74), t0 + 30s);
  REQUIRE(asked.size() == 2);
  CHECK(std::get<1>(asked[1]) == 74);

  feed(json{{"jsonrpc", "2.0"}, {"id", 75}, {"method", "roots/list"}}, t0 + 30s);
  auto roots = sent();
  REQUIRE(roots.size() == 1);
  CHECK(roots[0]["error"]["code"] == rpc_code::method_not_found);
}

TEST_CASE("an HTTP upstream's input request on a stream of no request is refused, even with one call open") {
  relay_fixture r;
  auto& [asked, call_logs, node_logs, f, client] = r;
  client.attribute_unrelated(false);
  r.handshake();
  client.call(7, "t", json::object(), false, f.t0 + 100s);
  r.sent();
  client.on_line(json{{"jsonrpc", "2.0"}, {"id", 90}, {"method", "elicitation/create"}, {"params", {{"message", "who?"}}}}.dump(),
                 f.t0);
  CHECK(asked.empty());
  auto out = r.sent();
  REQUIRE(out.size() == 1);
  CHECK(out[0]["id"] == 90);
  CHECK(out[0]["error"]["message"].get<std::string>().find("only on the response stream of the tools/call it belongs to")
        != std::string::npos);
}

TEST_CASE("an upstream client that relays no input offers no capability") {
  fixture f;
  f.client.start(f.t0 + 5s);
  CHECK(f.sent().at(0)["params"]["capabilities"] == json::object());
}

TEST_CASE("an input request or a log that came with a call's own response is that call's, among several open") {
  relay_fixture r;
  auto& [asked, call_logs, node_logs, f, client] = r;
  auto sent = [&] { return r.sent(); };
  r.handshake();
  client.call(1, "a", json::object(), false, f.t0 + 10s);
  client.call(2, "b", json::object(), false, f.t0 + 10s);
  client.request(3, "prompts/get", json{{"name", "p"}}, false, f.t0 + 10s);
  auto out = sent();
  REQUIRE(out.size() == 3);
  auto id_of = [&](size_t i) { return out[i]["id"].get<int64_t>(); };
  json ask{{"jsonrpc", "2.0"}, {"id", 50}, {"method", "elicitation/create"}, {"params", json::object()}};
  client.on_line(ask.dump(), f.t0, id_of(1));
  REQUIRE(asked.size() == 1);
  CHECK(std::get<0>(asked[0]) == 2);
  ask["id"] = 51;
  client.on_line(ask.dump(), f.t0, id_of(2)); // with a prompts/get: not a call's
  CHECK(asked.size() == 1);
  auto refused = sent();
  REQUIRE(refused.size() == 1);
  CHECK(refused[0]["error"]["message"] == "cafmcp relays elicitation/create only for a tools/call that is still open");
  json log{{"jsonrpc", "2.0"}, {"method", "notifications/message"}, {"params", {{"level", "info"}, {"data", "x"}}}};
  client.on_line(log.dump(), f.t0, id_of(0));
  client.on_line(log.dump(), f.t0); // with nothing: the node's log
  client.on_line(log.dump(), f.t0, id_of(2));
  REQUIRE(call_logs.size() == 1);
  CHECK(call_logs[0].first == 1);
  CHECK(call_logs[0].second["data"] == "x");
  CHECK(node_logs.size() == 2);
}

TEST_CASE("a stdio upstream's log goes to the call when it is the only request open - else, and from an HTTP server's stream of no request, to the node's log") {
  relay_fixture r;
  auto& [asked, call_logs, node_logs, f, client] = r;
  r.handshake();
  json log{{"jsonrpc", "2.0"}, {"method", "notifications/message"}, {"params", {{"level", "info"}, {"data", "x"}}}};
  client.on_line(log.dump(), f.t0); // nothing open
  client.call(1, "a", json::object(), false, f.t0 + 100s);
  client.on_line(log.dump(), f.t0);
  REQUIRE(call_logs.size() == 1);
  CHECK(call_logs[0].first == 1);
  client.call(2, "b", json::object(), false, f.t0 + 100s);
  client.on_line(log.dump(), f.t0); // two open: whose?
  client.cancel(2, "cancelled by the client", f.t0);
  client.on_line(log.dump(), f.t0 + 29s); // the cancelled one may still run there
  client.on_line(log.dump(), f.t0 + 30s);
  REQUIRE(call_logs.size() == 2);
  CHECK(call_logs[1].first == 1);
  CHECK(node_logs.size() == 3);
  client.attribute_unrelated(false); // HTTP: its GET stream is of no request
  client.on_line(log.dump(), f.t0 + 31s);
  CHECK(call_logs.size() == 2);
  CHECK(node_logs.size() == 4);
}

TEST_CASE("a subscription goes upstream only to a ready server that offers them - its updates come back, a refusal is reported") {
  std::vector<std::string> updated;
  fixture plain;
  auto ev = plain.events();
  ev.on_resource_updated = [&](const std::string& uri) { updated.push_back(uri); };
  upstream_client client{"ev", ev};
  auto t0 = plain.t0;
  client.start(t0 + 5s);
  CHECK_FALSE(client.subscribe("demo://a")); // not ready yet
  answer_start(client, json{{"resources", {{"subscribe", true}}}}, t0);
  REQUIRE(client.current_phase() == upstream_client::phase::ready);
  REQUIRE(client.subscribe("demo://a"));
  auto sub = sent_by(client);
  REQUIRE(sub.size() == 1);
  CHECK(sub[0]["method"] == "resources/subscribe");
  CHECK(sub[0]["params"] == json{{"uri", "demo://a"}});
  client.on_line(json{{"jsonrpc", "2.0"}, {"id", sub[0]["id"]}, {"result", json::object()}}.dump(), t0);
  CHECK(plain.protocol_errors.empty()); // its answer is expected, not "nobody waits for it"
  client.on_line(json{{"jsonrpc", "2.0"}, {"method", "notifications/resources/updated"}, {"params", {{"uri", "demo://a"}}}}.dump(), t0);
  CHECK(updated == std::vector<std::string>{"demo://a"});
  REQUIRE(client.subscribe("demo://b"));
  auto refused = sent_by(client);
  client.on_line(json{{"jsonrpc", "2.0"}, {"id", refused.at(0)["id"]}, {"error", {{"code", -32602}, {"message", "no such resource"}}}}.dump(), t0);
  CHECK(plain.protocol_errors == std::vector<std::string>{"resources/subscribe refused: no such resource"});

  relay_fixture r; // a server that does not offer subscriptions is not asked
  r.handshake();
  CHECK_FALSE(r.client.subscribe("demo://a"));
  CHECK(r.sent().empty());

  fixture odd; // nor one whose offer is not true (untrusted: never an exception)
  odd.handshake();
  for (auto caps : {json{{"resources", {{"subscribe", "yes"}}}}, json{{"resources", true}}, json{{"resources", nullptr}}}) {
    upstream_client c{"odd", odd.events()};
    c.start(t0 + 5s);
    answer_start(c, caps, t0);
    REQUIRE(c.current_phase() == upstream_client::phase::ready);
    CHECK_FALSE(c.subscribe("demo://a"));
  }
}
