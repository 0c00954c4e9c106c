// The MCP endpoint in both eras, in-process with the real core and
// protocol supervisors (tools run as actors under tool_sup).

#include <doctest/doctest.h>

#include <thread>

#include "actors/core_sup.hpp"
#include "actors/messages.hpp"
#include "protocol/builtin.hpp"
#include "protocol/endpoint.hpp"
#include "protocol/protocol_sup.hpp"
#include "protocol/tool_runner.hpp"
#include "protocol/versions.hpp"
#include "supervision/supervisor.hpp"
#include "tests/support/endpoint_fixture.hpp"

using namespace cafmcp;
using namespace cafmcp::protocol;
using namespace cafmcp::test;
using namespace std::chrono_literals;
using nlohmann::json;


TEST_CASE_FIXTURE(endpoint_fixture, "server/discover lists every version served, capabilities and serverInfo") {
  auto r = modern("server/discover")["result"];
  CHECK(r["resultType"] == "complete");
  CHECK(r["supportedVersions"] == json(all_versions()));
  CHECK(r["capabilities"].contains("tools"));
  CHECK(r["instructions"] == "Be nice.");
  CHECK(r["ttlMs"].is_number());
  CHECK(r["cacheScope"] == "public");
  CHECK(r["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "cafmcp-test");
  CHECK(r["_meta"]["io.modelcontextprotocol/serverInfo"]["version"] == "9.9.9");
}

TEST_CASE_FIXTURE(endpoint_fixture, "a modern request is checked for its required _meta and version") {
  auto no_caps = call("tools/list", json{{"_meta", {{"io.modelcontextprotocol/protocolVersion", "2026-07-28"}}}});
  CHECK(no_caps["error"]["code"] == -32602);
  CHECK(no_caps["error"]["message"].get<std::string>().find("clientCapabilities") != std::string::npos);
  auto meta = modern_meta();
  meta["io.modelcontextprotocol/protocolVersion"] = "2099-01-01";
  auto bad_version = call("tools/list", json{{"_meta", meta}});
  CHECK(bad_version["error"]["code"] == -32022);
  CHECK(bad_version["error"]["data"]["requested"] == "2099-01-01");
  CHECK(bad_version["error"]["data"]["supported"] == json(all_versions()));
  auto unknown = modern("no/such/method");
  CHECK(unknown["error"]["code"] == -32601);
  CHECK(modern("ping")["error"]["code"] == -32601); // removed in 2026-07-28
  CHECK(modern("logging/setLevel", json{{"level", "info"}})["error"]["code"] == -32601);
}

TEST_CASE_FIXTURE(endpoint_fixture, "legacy initialize negotiates the client's version or offers the newest") {
  auto r = legacy_init("2025-06-18")["result"];
  CHECK(r["protocolVersion"] == "2025-06-18");
  CHECK(r["serverInfo"]["name"] == "cafmcp-test");
  CHECK(r["capabilities"]["tools"].is_object());
  CHECK(r["capabilities"]["resources"]["subscribe"] == true);
  CHECK_FALSE(r.contains("resultType"));
  CHECK(ep->session()->protocol_version == "2025-06-18");
  CHECK(legacy_init()["error"]["code"] == -32600); // once per session
}

TEST_CASE_FIXTURE(endpoint_fixture, "an unknown legacy version is answered with the newest legacy version") {
  CHECK(legacy_init("1999-01-01")["result"]["protocolVersion"] == legacy_versions().front());
}

TEST_CASE_FIXTURE(endpoint_fixture, "legacy requests before initialize are refused, ping is not") {
  auto r = call("tools/list", nullptr);
  CHECK(r["error"]["code"] == -32602);
  CHECK(r["error"]["message"].get<std::string>().find("initialize") != std::string::npos);
  CHECK(call("ping", nullptr)["result"] == json::object());
}

TEST_CASE_FIXTURE(endpoint_fixture, "lists are paged with nextCursor and a bad cursor is -32602") {
  // Every tool, 3 per page.
  std::vector<std::string> names_seen;
  json cursor;
  for (int page = 0; page < 10; ++page) {
    json params = json::object();
    if (!cursor.is_null())
      params["cursor"] = cursor;
    auto r = modern("tools/list", params)["result"];
    for (auto& t : r["tools"])
      names_seen.push_back(t["name"]);
    CHECK(r["resultType"] == "complete");
    if (!r.contains("nextCursor"))
      break;
    cursor = r["nextCursor"];
  }
  CHECK(names_seen.size() == cat->tools().size());
  CHECK(modern("tools/list", json{{"cursor", "zz"}})["error"]["code"] == -32602);
  CHECK(modern("tools/list", json{{"cursor", 5}})["error"]["code"] == -32602);
  // A cursor of another list is refused too.
  auto tools_cursor = modern("tools/list")["result"]["nextCursor"];
  CHECK(modern("prompts/list", json{{"cursor", tools_cursor}})["error"]["code"] == -32602);
}

TEST_CASE_FIXTURE(endpoint_fixture, "tools/call runs echo and add in both eras") {
  auto r = modern("tools/call", json{{"name", "echo"}, {"arguments", {{"text", "hello"}}}})["result"];
  CHECK(r["content"][0]["text"] == "hello");
  CHECK(r["resultType"] == "complete");
  CHECK(r["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "cafmcp-test");
  legacy_init();
  auto sum = call("tools/call", json{{"name", "add"}, {"arguments", {{"a", 2}, {"b", 40}}}})["result"];
  CHECK(sum["structuredContent"]["sum"] == 42);
  CHECK_FALSE(sum.contains("resultType"));
}

TEST_CASE_FIXTURE(endpoint_fixture, "an unknown tool is -32602 and invalid arguments are a tool error naming the field") {
  CHECK(modern("tools/call", json{{"name", "nope"}})["error"]["code"] == -32602);
  auto r = modern("tools/call", json{{"name", "echo"}, {"arguments", {{"text", 5}, {"extra", 1}}}})["result"];
  CHECK(r["isError"] == true);
  auto text = r["content"][0]["text"].get<std::string>();
  CHECK(text.find("text: must be a string, got an integer") != std::string::npos);
  CHECK(text.find("extra: is not an allowed property") != std::string::npos);
  CHECK(modern("tools/call", json{{"name", "echo"}, {"arguments", "x"}})["error"]["code"] == -32602);
}

TEST_CASE_FIXTURE(endpoint_fixture, "a tool handler that throws fails that call only with -32603") {
  auto r = modern("tools/call", json{{"name", "boom"}});
  CHECK(r["error"]["code"] == -32603);
  CHECK(r["error"]["message"].get<std::string>().find("kaboom") != std::string::npos);
  auto silent = modern("tools/call", json{{"name", "silent"}});
  CHECK(silent["error"]["code"] == -32603);
  CHECK(modern("tools/call", json{{"name", "echo"}, {"arguments", {{"text", "still here"}}}})["result"]["content"][0]["text"]
        == "still here");
}

TEST_CASE_FIXTURE(endpoint_fixture, "an inline tool is answered where the request is read - no tool worker needed") {
  auto env = endpoint_env::serving(cat);
  env.tool_worker = [] { return caf::actor{}; }; // every worker gone: a worker's tool cannot run
  auto direct = std::make_shared<endpoint>(env);
  auto ask = [&](const std::string& tool, json args) {
    auto sink = std::make_shared<test_sink>();
    direct->handle_text(json{{"jsonrpc", "2.0"}, {"id", next_id++}, {"method", "tools/call"},
                             {"params", {{"name", tool}, {"arguments", std::move(args)}, {"_meta", modern_meta()}}}}.dump(),
                        sink);
    return sink->next(0ms); // answered before handle_text returned
  };
  auto r = ask("echo", {{"text", "inline"}});
  CHECK(r["result"]["content"][0]["text"] == "inline");
  CHECK(r["result"]["resultType"] == "complete");
  CHECK(ask("add", {{"a", 1}, {"b", 2}})["result"]["structuredContent"]["sum"] == 3);
  auto boom = ask("inline_boom", json::object());
  CHECK(boom["error"]["code"] == -32603);
  CHECK(boom["error"]["message"] == "tool inline_boom failed: inline kaboom");
  CHECK(ask("echo", {{"text", "still here"}})["result"]["content"][0]["text"] == "still here");
  CHECK(ask("sleep", {{"ms", 1}})["error"]["message"].get<std::string>().find("no tool worker is running")
        != std::string::npos);
  CHECK(env.inflight->load() == 0);
}

TEST_CASE_FIXTURE(endpoint_fixture, "an inline tool goes through a worker while a chaos experiment may fail tool calls - not for network faults") {
  auto env = endpoint_env::serving(cat);
  env.tool_worker = [] { return caf::actor{}; };
  env.faults = std::make_shared<actors::fault_injection>();
  env.faults->add("exp-1", actors::tool_fault{"nothing-matches", 1.0}, std::chrono::steady_clock::now() + 60s);
  auto chaotic = std::make_shared<endpoint>(env);
  auto sink = std::make_shared<test_sink>();
  chaotic->handle_text(json{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "tools/call"},
                            {"params", {{"name", "echo"}, {"arguments", {{"text", "x"}}}, {"_meta", modern_meta()}}}}.dump(),
                       sink);
  // Sent to a worker (none here), where the experiment decides.
  CHECK(sink->next(0ms)["error"]["message"].get<std::string>().find("no tool worker is running") != std::string::npos);
  // An experiment on inter-node messages only leaves inline tools inline.
  env.faults = std::make_shared<actors::fault_injection>();
  env.faults->add("exp-2", actors::network_fault{}, std::chrono::steady_clock::now() + 60s);
  auto networked = std::make_shared<endpoint>(env);
  networked->handle_text(json{{"jsonrpc", "2.0"}, {"id", 2}, {"method", "tools/call"},
                              {"params", {{"name", "echo"}, {"arguments", {{"text", "y"}}}, {"_meta", modern_meta()}}}}.dump(),
                         sink);
  CHECK(sink->next(0ms)["result"]["content"][0]["text"] == "y");
}

TEST_CASE_FIXTURE(endpoint_fixture, "sleep reports progress, and a cancelled call is never answered") {
  auto sink = std::make_shared<test_sink>();
  auto meta = modern_meta();
  meta["progressToken"] = "p1";
  ep->handle_text(json{{"jsonrpc", "2.0"}, {"id", 100}, {"method", "tools/call"},
                       {"params", {{"name", "sleep"}, {"arguments", {{"ms", 250}}}, {"_meta", meta}}}}
                    .dump(),
                  sink);
  std::vector<double> progress;
  json final;
  for (int i = 0; i < 10; ++i) {
    auto m = sink->next();
    if (m.contains("method")) {
      CHECK(m["method"] == "notifications/progress");
      CHECK(m["params"]["progressToken"] == "p1");
      CHECK(m["params"]["total"] == 250);
      progress.push_back(m["params"]["progress"]);
    } else {
      final = m;
      break;
    }
  }
  CHECK(progress == std::vector<double>{100, 200, 250});
  CHECK(final["result"]["structuredContent"]["slept_ms"] == 250);

  auto sink2 = std::make_shared<test_sink>();
  ep->handle_text(json{{"jsonrpc", "2.0"}, {"id", 101}, {"method", "tools/call"},
                       {"params", {{"name", "sleep"}, {"arguments", {{"ms", 5000}}}, {"_meta", modern_meta()}}}}
                    .dump(),
                  sink2);
  ep->handle_text(R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":101}})", sink2);
  CHECK(sink2->quiet_for(400ms));
}

TEST_CASE_FIXTURE(endpoint_fixture, "past max_inflight calls, tools/call is refused with -32000 until calls finish") {
  auto env = endpoint_env::serving(cat);
  auto workers = std::make_shared<tool_workers>(names, 2);
  env.tool_worker = [workers] { return workers->next(); };
  env.max_inflight = 2;
  auto small = std::make_shared<endpoint>(env);
  auto meta = modern_meta();
  auto sink = std::make_shared<test_sink>();
  for (int id = 1; id <= 2; ++id)
    small->handle_text(json{{"jsonrpc", "2.0"}, {"id", id}, {"method", "tools/call"},
                            {"params", {{"name", "sleep"}, {"arguments", {{"ms", 300}}}, {"_meta", meta}}}}.dump(),
                       sink);
  auto busy = std::make_shared<test_sink>();
  small->handle_text(json{{"jsonrpc", "2.0"}, {"id", 3}, {"method", "tools/call"},
                          {"params", {{"name", "echo"}, {"arguments", {{"text", "x"}}}, {"_meta", meta}}}}.dump(),
                     busy);
  CHECK(busy->next()["error"]["code"] == -32000);
  CHECK(sink->next().contains("result"));
  CHECK(sink->next().contains("result"));
  CHECK(env.inflight->load() == 0);
  small->handle_text(json{{"jsonrpc", "2.0"}, {"id", 4}, {"method", "tools/call"},
                          {"params", {{"name", "echo"}, {"arguments", {{"text", "again"}}}, {"_meta", meta}}}}.dump(),
                     busy);
  CHECK(busy->next()["result"]["content"][0]["text"] == "again");
}

TEST_CASE_FIXTURE(endpoint_fixture, "state handles carry values across stateless calls") {
  auto opened = modern("tools/call", json{{"name", "session_open"}})["result"];
  auto handle = opened["structuredContent"]["handle"].get<std::string>();
  CHECK(handle.size() == 32);
  CHECK(modern("tools/call", json{{"name", "session_set"},
                                  {"arguments", {{"handle", handle}, {"key", "k"}, {"value", "v1"}}}})["result"]["content"][0]["text"]
        == "ok");
  auto got = modern("tools/call", json{{"name", "session_get"}, {"arguments", {{"handle", handle}, {"key", "k"}}}})["result"];
  CHECK(got["structuredContent"]["value"] == "v1");
  auto missing = modern("tools/call", json{{"name", "session_get"}, {"arguments", {{"handle", "nope"}, {"key", "k"}}}})["result"];
  CHECK(missing["isError"] == true);
  CHECK(missing["content"][0]["text"].get<std::string>().find("unknown or expired handle") != std::string::npos);
  // Stateless calls have no implicit handle.
  auto none = modern("tools/call", json{{"name", "session_get"}, {"arguments", {{"key", "k"}}}})["result"];
  CHECK(none["isError"] == true);
}

TEST_CASE_FIXTURE(endpoint_fixture, "a legacy session has its own implicit state handle") {
  legacy_init();
  CHECK(call("tools/call", json{{"name", "session_set"}, {"arguments", {{"key", "a"}, {"value", "1"}}}})["result"]["content"][0]["text"]
        == "ok");
  CHECK(call("tools/call", json{{"name", "session_get"}, {"arguments", {{"key", "a"}}}})["result"]["content"][0]["text"]
        == "1");
}

TEST_CASE_FIXTURE(endpoint_fixture, "resources are read by uri or template - not found differs by era") {
  auto info = modern("resources/read", json{{"uri", "cafmcp://server/info"}})["result"];
  CHECK(info["contents"][0]["mimeType"] == "application/json");
  CHECK(json::parse(info["contents"][0]["text"].get<std::string>())["name"] == "cafmcp-test");
  CHECK(info["ttlMs"].is_number());
  auto echo = modern("resources/read", json{{"uri", "cafmcp://echo/hi"}})["result"];
  CHECK(echo["contents"][0]["text"] == "hi");
  auto missing = modern("resources/read", json{{"uri", "cafmcp://nope"}});
  CHECK(missing["error"]["code"] == -32602);
  CHECK(missing["error"]["data"]["uri"] == "cafmcp://nope");
  CHECK(modern("resources/templates/list")["result"]["resourceTemplates"][0]["uriTemplate"] == "cafmcp://echo/{text}");
  legacy_init();
  CHECK(call("resources/read", json{{"uri", "cafmcp://nope"}})["error"]["code"] == -32002);
  CHECK(call("resources/subscribe", json{{"uri", "cafmcp://server/info"}})["result"] == json::object());
  CHECK(call("resources/subscribe", json{{"uri", "cafmcp://nope"}})["error"]["code"] == -32002);
  CHECK(ep->session()->subscriptions.count("cafmcp://server/info") == 1);
}

TEST_CASE_FIXTURE(endpoint_fixture, "prompts/get checks its arguments and completion offers matching values") {
  auto r = modern("prompts/get", json{{"name", "greeting"}, {"arguments", {{"name", "Ann"}}}})["result"];
  CHECK(r["messages"][0]["content"]["text"] == "Greet Ann in a casual way.");
  auto missing = modern("prompts/get", json{{"name", "greeting"}});
  CHECK(missing["error"]["code"] == -32602);
  CHECK(missing["error"]["message"].get<std::string>().find("\"name\"") != std::string::npos);
  CHECK(modern("prompts/get", json{{"name", "nope"}})["error"]["code"] == -32602);
  auto c = modern("completion/complete", json{{"ref", {{"type", "ref/prompt"}, {"name", "greeting"}}},
                                              {"argument", {{"name", "name"}, {"value", "Ca"}}}})["result"];
  CHECK(c["completion"]["values"] == json::array({"Carol"}));
  CHECK(modern("completion/complete", json{{"ref", {{"type", "ref/other"}}}, {"argument", {{"name", "n"}, {"value", ""}}}})["error"]["code"]
        == -32602);
}

TEST_CASE_FIXTURE(endpoint_fixture, "a relayed prompt is answered when its relay answers, from another thread, with its result or error") {
  std::vector<std::map<std::string, std::string>> asked;
  std::vector<std::thread> answering; // joined before the endpoint goes
  env.catalog->update([&](catalog& c) {
    prompt_def p{"up.weather", "", "relayed", {{"city", "", true, {}}}, nullptr};
    p.relay = [&asked, &answering](const std::map<std::string, std::string>& args, relay_reply done) {
      asked.push_back(args);
      answering.emplace_back([args, done = std::move(done)] {
        if (args.at("city") == "nowhere")
          done(std::nullopt, rpc_error{-32603, "upstream up: no such city", nullptr});
        else
          done(json{{"messages", {{{"role", "user"}, {"content", {{"type", "text"}, {"text", "weather in " + args.at("city")}}}}}}},
               std::nullopt);
      });
    };
    c.add_prompt(std::move(p));
  });
  auto r = modern("prompts/get", json{{"name", "up.weather"}, {"arguments", {{"city", "Oslo"}}}});
  CHECK(r["result"]["messages"][0]["content"]["text"] == "weather in Oslo");
  CHECK(r["result"].contains("resultType")); // a 2026-07-28 result, decorated as the node's own are
  legacy_init();
  auto e = call("prompts/get", json{{"name", "up.weather"}, {"arguments", {{"city", "nowhere"}}}});
  CHECK(e["error"]["code"] == -32603);
  CHECK(e["error"]["message"] == "upstream up: no such city");
  // Arguments are checked before anything is relayed.
  CHECK(modern("prompts/get", json{{"name", "up.weather"}})["error"]["code"] == -32602);
  CHECK(asked.size() == 2);
  for (auto& t : answering)
    t.join();
}

TEST_CASE_FIXTURE(endpoint_fixture, "a relayed resource or template is read when its relay answers") {
  std::vector<std::string> asked;
  auto contents = [](const std::string& uri) {
    return json{{"contents", {{{"uri", uri}, {"text", "from upstream"}}}}};
  };
  env.catalog->update([&](catalog& c) {
    resource_def r{"up://doc", "up.doc", "", "", "text/plain", nullptr};
    r.relay = [&asked, contents](relay_reply done) {
      asked.push_back("up://doc");
      done(contents("up://doc"), std::nullopt);
    };
    c.add_resource(std::move(r));
    resource_template_def t{"up://item/{id}", "up.item", "", "", "", nullptr};
    t.relay = [&asked, contents](const std::string& uri, relay_reply done) {
      asked.push_back(uri);
      if (uri == "up://item/gone")
        return done(std::nullopt, rpc_error{-32002, "upstream up: Resource not found", nullptr});
      done(contents(uri), std::nullopt);
    };
    c.add_resource_template(std::move(t));
  });
  CHECK(modern("resources/read", json{{"uri", "up://doc"}})["result"]["contents"][0]["text"] == "from upstream");
  CHECK(modern("resources/read", json{{"uri", "up://item/7"}})["result"]["contents"][0]["uri"] == "up://item/7");
  CHECK(modern("resources/read", json{{"uri", "up://item/gone"}})["error"]["code"] == -32002);
  CHECK(asked == std::vector<std::string>{"up://doc", "up://item/7", "up://item/gone"});
}

TEST_CASE_FIXTURE(endpoint_fixture, "logging/setLevel validates the level") {
  legacy_init();
  CHECK(call("logging/setLevel", json{{"level", "warning"}})["result"] == json::object());
  CHECK(ep->session()->log_level == "warning");
  CHECK(call("logging/setLevel", json{{"level", "loud"}})["error"]["code"] == -32602);
}

TEST_CASE_FIXTURE(endpoint_fixture, "a batch is answered as one array under 2025-03-26 and refused otherwise") {
  auto sink = std::make_shared<test_sink>();
  ep->handle_text(R"([{"jsonrpc":"2.0","id":1,"method":"ping"}])", sink);
  CHECK(sink->next()["error"]["code"] == -32600);
  legacy_init("2025-03-26");
  ep->handle_text(R"([{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/initialized"},
                      {"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"b"}}},
                      {"nope":1}])",
                  sink);
  auto all = sink->next();
  REQUIRE(all.is_array());
  CHECK(all.size() == 3);
}

TEST_CASE_FIXTURE(endpoint_fixture, "malformed input gets -32700 or -32600 and the endpoint keeps serving") {
  auto sink = std::make_shared<test_sink>();
  ep->handle_text("{not json", sink);
  auto r = sink->next();
  CHECK(r["error"]["code"] == -32700);
  CHECK(r["id"].is_null());
  ep->handle_text(R"({"jsonrpc":"2.0","id":9})", sink);
  CHECK(sink->next()["error"]["code"] == -32600);
  CHECK(modern("tools/call", json{{"name", "echo"}, {"arguments", {{"text", "ok"}}}})["result"]["content"][0]["text"] == "ok");
}

TEST_CASE_FIXTURE(endpoint_fixture, "a tool handler learns whom the call acts for - the bearer token's subject and tenant") {
  cat->add_tool(tool_def{"whoami", "", "names the caller", json{{"type", "object"}}, nullptr, nullptr,
                         [](const json&, std::shared_ptr<tool_call> call) {
                           call->reply(tool_result::text(call->subject() + " of " + call->tenant()));
                         },
                         false});
  auto e = endpoint_env::serving(cat);
  e.tool_worker = env.tool_worker;
  e.session_manager = env.session_manager;
  auto served = std::make_shared<endpoint>(e);
  struct as_ann : test_sink {
    std::string subject() const override { return "ann"; }
    std::string tenant() const override { return "acme"; }
  };
  auto call = [&](std::shared_ptr<test_sink> sink) {
    json msg{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "tools/call"},
             {"params", {{"name", "whoami"}, {"arguments", json::object()}, {"_meta", modern_meta()}}}};
    served->handle_text(msg.dump(), sink);
    return sink->next()["result"]["content"][0]["text"];
  };
  CHECK(call(std::make_shared<as_ann>()) == "ann of acme");
  CHECK(call(std::make_shared<test_sink>()) == " of "); // no authorisation: nobody in particular
}

namespace {

/// A request another member routed here: limited where it arrived.
class routed_sink : public test_sink {
public:
  bool limited() const override { return false; }
};

} // namespace

TEST_CASE_FIXTURE(endpoint_fixture, "rate limits refuse a client past its burst but not calls another member routed here") {
  actors::rate_limit_config limits;
  limits.client = actors::bucket_config{1, 0.001};
  limits.tools["add"] = actors::bucket_config{1, 0.001};
  env.limits = std::make_shared<actors::rate_limits>(limits);
  ep = std::make_shared<endpoint>(env);
  auto add = [&](std::shared_ptr<test_sink> sink) {
    json msg{{"jsonrpc", "2.0"}, {"id", next_id++}, {"method", "tools/call"},
             {"params", {{"name", "add"}, {"arguments", {{"a", 1}, {"b", 2}}}, {"_meta", modern_meta()}}}};
    ep->handle_text(msg.dump(), sink);
    return sink->next();
  };
  CHECK(add(std::make_shared<test_sink>())["result"]["structuredContent"]["sum"] == 3);
  CHECK(add(std::make_shared<test_sink>())["error"]["code"] == -32029); // the client's burst is spent
  for (int i = 0; i < 3; ++i)
    CHECK(add(std::make_shared<routed_sink>())["result"]["structuredContent"]["sum"] == 3);
}
