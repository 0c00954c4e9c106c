// The built-in tools, resources and prompts every node offers.
#include "protocol/builtin.hpp"

#include "base/trace.hpp"

#include <caf/all.hpp>

#include "actors/errors.hpp"
#include "actors/messages.hpp"
#include "protocol/versions.hpp"

namespace cafmcp::protocol {

namespace {

using nlohmann::json;

json schema(json properties, json required) {
  return json{{"type", "object"},
              {"properties", std::move(properties)},
              {"required", std::move(required)},
              {"additionalProperties", false}};
}

tool_result structured(json value, std::string text) {
  auto r = tool_result::text(std::move(text));
  r.structured = std::move(value);
  return r;
}

/// A state tool's handler: finds the record (the "handle" argument, if the
/// caller's tenant may use it, else the legacy session's own) and the
/// session manager, or answers why it cannot, then runs `fn(args, call,
/// record, session_manager)`.
template <class F>
tool_handler with_handle(F fn) {
  return [fn](const json& args, std::shared_ptr<tool_call> call) {
    std::string handle;
    if (auto h = args.find("handle"); h != args.end()) {
      handle = call->handle_record(h->get<std::string>());
      if (handle.empty()) // another tenant's, or none: the same answer, nothing to learn from it
        return call->reply(tool_result::error("handle: unknown or expired handle " + h->get<std::string>()));
    } else {
      handle = call->session_handle();
    }
    if (handle.empty())
      return call->reply(tool_result::error("handle: is required (open one with session_open)"));
    auto sm = call->session_manager();
    if (!sm)
      return call->reply(tool_result::error("the session manager is restarting; try again"));
    fn(args, call, handle, sm);
  };
}

void sleep_step(std::shared_ptr<tool_call> call, int64_t total_ms, int64_t done_ms) {
  if (call->cancelled())
    return;
  if (done_ms >= total_ms) {
    call->reply(structured(json{{"slept_ms", total_ms}}, "slept " + std::to_string(total_ms) + " ms"));
    return;
  }
  auto step = std::min<int64_t>(100, total_ms - done_ms);
  call->after(std::chrono::milliseconds{step}, [call, total_ms, done_ms, step] {
    call->progress(static_cast<double>(done_ms + step), static_cast<double>(total_ms),
                   "slept " + std::to_string(done_ms + step) + " ms");
    sleep_step(call, total_ms, done_ms + step);
  });
}

} // namespace

void add_builtins(catalog& cat) {
  cat.add_tool(inline_tool(
    tool_def{"echo", "Echo", "Returns its text unchanged.",
             schema({{"text", {{"type", "string"}, {"description", "the text to return"}}}}, {"text"}), nullptr,
             json{{"readOnlyHint", true}, {"idempotentHint", true}}, nullptr, true},
    [](const json& args) { return tool_result::text(args["text"].get<std::string>()); }));

  cat.add_tool(inline_tool(
    tool_def{"add", "Add", "Adds two numbers.",
             schema({{"a", {{"type", "number"}}}, {"b", {{"type", "number"}}}}, {"a", "b"}),
             json{{"type", "object"}, {"properties", {{"sum", {{"type", "number"}}}}}, {"required", {"sum"}}},
             json{{"readOnlyHint", true}, {"idempotentHint", true}}, nullptr, true},
    [](const json& args) {
      json sum = args["a"].get<double>() + args["b"].get<double>();
      if (args["a"].is_number_integer() && args["b"].is_number_integer())
        sum = args["a"].get<int64_t>() + args["b"].get<int64_t>();
      return structured(json{{"sum", sum}}, json{{"sum", sum}}.dump());
    }));

  cat.add_tool(tool_def{
    "sleep", "Sleep", "Waits for ms milliseconds, reporting progress every 100 ms; cancellable; runs as a task for clients with the Tasks extension.",
    schema({{"ms", {{"type", "integer"}, {"minimum", 0}, {"maximum", 600000}}}}, {"ms"}), nullptr,
    json{{"readOnlyHint", true}, {"idempotentHint", true}},
    [](const json& args, std::shared_ptr<tool_call> call) {
      sleep_step(call, args["ms"].get<int64_t>(), 0);
    },
    true, true});

  cat.add_tool(tool_def{
    "session_open", "Open a state handle",
    "Creates server-side state and returns its handle; pass the handle to session_set and "
    "session_get. It expires after the session TTL without use.",
    schema(json::object(), json::array()),
    json{{"type", "object"}, {"properties", {{"handle", {{"type", "string"}}}}}, {"required", {"handle"}}},
    nullptr,
    [](const json&, std::shared_ptr<tool_call> call) {
      auto sm = call->session_manager();
      if (!sm)
        return call->reply(tool_result::error("the session manager is restarting; try again"));
      call->self()
        ->request(sm, std::chrono::seconds(5),
                  trace::wrap(call->tenant().empty()
                                ? caf::make_message(actors::session_create_atom::value, int64_t{0})
                                : caf::make_message(actors::session_create_atom::value, int64_t{0}, call->new_record_id())))
        .then(
          [call](actors::session_record& rec) {
            auto handle = call->tenant_handle(rec.id);
            call->reply(structured(json{{"handle", handle}}, handle));
          },
          [call](caf::error& err) {
            call->reply(tool_result::error("could not open a handle: " + call->self()->system().render(err)));
          });
    }});

  cat.add_tool(tool_def{
    "session_set", "Set a value on a handle",
    "Stores value under key in the state of handle (legacy sessions: handle may be omitted). In a "
    "cluster, consistency says how many replicas must hold the value before ok (default: the node's "
    "cluster.replication.consistency).",
    schema({{"handle", {{"type", "string"}}}, {"key", {{"type", "string"}, {"minLength", 1}}},
            {"value", {{"type", "string"}}},
            {"consistency", {{"type", "string"}, {"enum", {"local", "one", "majority", "all"}}}}},
           {"key", "value"}),
    nullptr, nullptr,
    with_handle([](const json& args, std::shared_ptr<tool_call> call, const std::string& handle,
                   const caf::actor& sm) {
      auto key = args["key"].get<std::string>();
      auto value = args["value"].get<std::string>();
      auto msg = args.contains("consistency")
                   ? caf::make_message(actors::session_put_atom::value, handle, std::move(key), std::move(value),
                                       args["consistency"].get<std::string>())
                   : caf::make_message(actors::session_put_atom::value, handle, std::move(key), std::move(value));
      call->self()
        ->request(sm, std::chrono::seconds(5), trace::wrap(std::move(msg)))
        .then([call](caf::ok_atom) { call->reply(tool_result::text("ok")); },
              [call, handle](caf::error& err) {
                if (actors::is(err, actors::errc::not_found))
                  call->reply(tool_result::error("handle: unknown or expired handle " + handle));
                else
                  call->reply(tool_result::error("could not store the value: " + call->self()->system().render(err)));
              });
    })});

  cat.add_tool(tool_def{
    "session_get", "Get a value from a handle",
    "Returns the value stored under key in the state of handle (legacy sessions: handle may be "
    "omitted).",
    schema({{"handle", {{"type", "string"}}}, {"key", {{"type", "string"}, {"minLength", 1}}}}, {"key"}),
    nullptr, json{{"readOnlyHint", true}},
    with_handle([](const json& args, std::shared_ptr<tool_call> call, const std::string& handle,
                   const caf::actor& sm) {
      auto key = args["key"].get<std::string>();
      call->self()
        ->request(sm, std::chrono::seconds(5), trace::wrap(caf::make_message(actors::session_get_atom::value, handle)))
        .then(
          [call, key](actors::session_record& rec) {
            auto i = rec.data.find(key);
            if (i == rec.data.end())
              return call->reply(tool_result::error("key: no value stored under " + key));
            call->reply(structured(json{{"key", key}, {"value", i->second}}, i->second));
          },
          [call, handle](caf::error& err) {
            if (actors::is(err, actors::errc::not_found))
              call->reply(tool_result::error("handle: unknown or expired handle " + handle));
            else
              call->reply(tool_result::error("could not read the value: " + call->self()->system().render(err)));
          });
    })});

  auto id = cat.identity();
  cat.add_resource(resource_def{
    "cafmcp://server/info", "server-info", "Server information",
    "The name and version of this server and the protocol versions it serves.", "application/json", [id] {
      json info{{"name", id.name}, {"version", id.version}, {"protocolVersions", all_versions()}};
      return std::vector<resource_contents>{
        resource_contents{"cafmcp://server/info", "application/json", info.dump(2), std::nullopt}};
    }});

  cat.add_resource_template(resource_template_def{
    "cafmcp://echo/{text}", "echo", "Echo resource", "Returns the text in its URI.", "text/plain",
    [](const std::string& uri, const std::map<std::string, std::string>& vars)
      -> std::optional<std::vector<resource_contents>> {
      return std::vector<resource_contents>{
        resource_contents{uri, "text/plain", vars.at("text"), std::nullopt}};
    }});

  cat.add_prompt(prompt_def{
    "greeting", "Greeting", "Asks the model to greet someone.",
    {prompt_argument{"name", "who to greet", true, {"Alice", "Bob", "Carol", "Dave"}},
     prompt_argument{"style", "formal or casual", false, {"formal", "casual"}}},
    [](const std::map<std::string, std::string>& args) {
      auto style = args.count("style") ? args.at("style") : std::string{"casual"};
      return json::array({json{{"role", "user"},
                               {"content",
                                {{"type", "text"},
                                 {"text", "Greet " + args.at("name") + " in a " + style + " way."}}}}});
    }});
}

} // namespace cafmcp::protocol
