// An MCP server of your own on cafmcp: the `cafmcp` command line (node,
// --stdio, --http-port, --config …) plus four tools, a resource template
// and a prompt. Every tool runs in a supervised tool worker; a handler
// that throws fails its call only.
//
//   build/bin/notes_server node --stdio          (for stdio clients)
//   build/bin/notes_server node --http-port 8081 (Streamable HTTP)

#include <caf/all.hpp>

#include "actors/errors.hpp"
#include "actors/messages.hpp"
#include "cli/app.hpp"
#include "protocol/catalog_store.hpp"

using namespace cafmcp;
using nlohmann::json;

namespace {

json object_schema(json properties, json required) {
  return json{{"type", "object"}, {"properties", std::move(properties)}, {"required", std::move(required)},
              {"additionalProperties", false}};
}

void add_notes(protocol::catalog& cat) {
  // 1. A plain synchronous tool: arguments in, result out.
  cat.add_tool(protocol::tool_def{
    "word_count", "Word count", "Counts the words in a text.",
    object_schema({{"text", {{"type", "string"}}}}, {"text"}),
    json{{"type", "object"}, {"properties", {{"words", {{"type", "integer"}}}}}, {"required", {"words"}}},
    json{{"readOnlyHint", true}},
    protocol::sync_tool([](const json& args) {
      std::istringstream in{args["text"].get<std::string>()};
      size_t n = 0;
      for (std::string w; in >> w;)
        ++n;
      auto r = protocol::tool_result::text(std::to_string(n) + " words");
      r.structured = json{{"words", n}};
      return r;
    }),
    true});

  // 2. An asynchronous tool: it asks the node's session manager (tier 1)
  //    and answers from the continuation; notes live on a state handle, so
  //    they outlive the call (and, replicated, the node).
  cat.add_tool(protocol::tool_def{
    "note_add", "Add a note", "Stores a note under a title on a handle from session_open.",
    object_schema({{"handle", {{"type", "string"}}}, {"title", {{"type", "string"}, {"minLength", 1}}},
                   {"text", {{"type", "string"}}}},
                  {"handle", "title", "text"}),
    nullptr, nullptr,
    [](const json& args, std::shared_ptr<protocol::tool_call> call) {
      auto sm = call->session_manager();
      if (!sm)
        return call->reply(protocol::tool_result::error("the session manager is restarting; try again"));
      call->self()
        ->request(sm, std::chrono::seconds(5), actors::session_put_atom::value, args["handle"].get<std::string>(),
                  "note:" + args["title"].get<std::string>(), args["text"].get<std::string>())
        .then([call](caf::ok_atom) { call->reply(protocol::tool_result::text("noted")); },
              [call](caf::error& err) {
                call->reply(protocol::tool_result::error(
                  actors::is(err, actors::errc::not_found) ? "handle: unknown or expired handle"
                                                           : "could not store the note: " + caf::to_string(err)));
              });
    }});

  // 3. A tool that fails: the client gets -32603 for this call, nothing else.
  cat.add_tool(protocol::tool_def{"always_fails", "", "Throws, to show that a failing handler is contained.",
                                  json{{"type", "object"}}, nullptr, nullptr,
                                  [](const json&, std::shared_ptr<protocol::tool_call>) -> void {
                                    throw std::runtime_error("this handler always throws");
                                  }});

  // 4. A tool that changes what the server offers while it runs: each new
  //    topic of a shared board becomes a resource (clients hear
  //    notifications/resources/list_changed), and every post tells that
  //    topic's subscribers it changed (notifications/resources/updated).
  //    The board lives in this process only; it is a demo of the events.
  struct board {
    std::mutex mtx;
    std::map<std::string, std::vector<std::string>> topics;
  };
  auto shared = std::make_shared<board>();
  cat.add_tool(protocol::tool_def{
    "board_post", "Post to the board", "Appends text to a topic of the shared board (resource notes://board/TOPIC).",
    object_schema({{"topic", {{"type", "string"}, {"pattern", "^[a-z0-9-]{1,40}$"}}}, {"text", {{"type", "string"}}}},
                  {"topic", "text"}),
    nullptr, nullptr,
    [shared](const json& args, std::shared_ptr<protocol::tool_call> call) {
      auto topic = args["topic"].get<std::string>();
      auto uri = "notes://board/" + topic;
      bool is_new = false;
      size_t count = 0;
      {
        std::lock_guard<std::mutex> guard{shared->mtx};
        auto& posts = shared->topics[topic];
        is_new = posts.empty();
        posts.push_back(args["text"].get<std::string>());
        count = posts.size();
      }
      if (is_new)
        call->catalog().update([shared, topic, uri](protocol::catalog& c) {
          if (c.find_resource(uri))
            return; // another call added it meanwhile
          c.add_resource(protocol::resource_def{uri, "board-" + topic, "", "Posts on " + topic, "text/plain", [shared, topic, uri] {
            std::lock_guard<std::mutex> guard{shared->mtx};
            std::string text;
            for (auto& p : shared->topics[topic])
              text += p + "\n";
            return std::vector<protocol::resource_contents>{{uri, "text/plain", text, std::nullopt}};
          }});
        });
      call->catalog().resource_updated(uri);
      call->reply(protocol::tool_result::text(std::to_string(count) + " post(s) on " + topic));
    }});

  cat.add_resource_template(protocol::resource_template_def{
    "notes://shout/{text}", "shout", "Shout", "The text in its URI, in capitals.", "text/plain",
    [](const std::string& uri, const std::map<std::string, std::string>& vars)
      -> std::optional<std::vector<protocol::resource_contents>> {
      auto text = vars.at("text");
      for (auto& c : text)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      return std::vector<protocol::resource_contents>{{uri, "text/plain", text, std::nullopt}};
    }});

  cat.add_prompt(protocol::prompt_def{
    "summarize", "Summarize", "Asks for a summary of a text.",
    {protocol::prompt_argument{"text", "what to summarize", true, {}}},
    [](const std::map<std::string, std::string>& args) {
      return json::array({json{{"role", "user"},
                               {"content", {{"type", "text"}, {"text", "Summarize: " + args.at("text")}}}}});
    }});
}

} // namespace

int main(int argc, char** argv) {
  return cli::run(argc, argv, add_notes);
}
