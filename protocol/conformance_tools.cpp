// The tools the official MCP conformance suite calls.
#include "protocol/conformance_tools.hpp"

#include "protocol/base64.hpp"

namespace cafmcp::protocol {

namespace {

using nlohmann::json;

// A 1×1 red PNG.
constexpr const char* red_pixel_png =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";

/// A 1 ms silent WAV (8 kHz, 8-bit mono), built rather than pasted.
std::string silent_wav_base64() {
  std::string samples(8, '\x80');
  auto le32 = [](uint32_t v) {
    return std::string{static_cast<char>(v & 0xff), static_cast<char>((v >> 8) & 0xff),
                       static_cast<char>((v >> 16) & 0xff), static_cast<char>((v >> 24) & 0xff)};
  };
  auto le16 = [](uint16_t v) { return std::string{static_cast<char>(v & 0xff), static_cast<char>(v >> 8)}; };
  std::string wav = "RIFF" + le32(36 + static_cast<uint32_t>(samples.size())) + "WAVE" + "fmt " + le32(16)
                    + le16(1) + le16(1) + le32(8000) + le32(8000) + le16(1) + le16(8) + "data"
                    + le32(static_cast<uint32_t>(samples.size())) + samples;
  return base64_encode(wav);
}

json no_args() {
  return json{{"type", "object"}, {"properties", json::object()}};
}

json string_arg(const char* name, const char* description) {
  return json{{"type", "object"},
              {"properties", {{name, {{"type", "string"}, {"description", description}}}}},
              {"required", {name}}};
}

tool_result content(json blocks) {
  tool_result r;
  r.content = std::move(blocks);
  return r;
}

json image_block() {
  return json{{"type", "image"}, {"data", red_pixel_png}, {"mimeType", "image/png"}};
}

void log_steps(std::shared_ptr<tool_call> call, size_t step) {
  static const char* messages[] = {"Tool execution started", "Tool processing data", "Tool execution completed"};
  call->log("info", messages[step]);
  if (step == 2)
    return call->reply(tool_result::text("Tool with logging executed successfully"));
  call->after(std::chrono::milliseconds{50}, [call, step] { log_steps(call, step + 1); });
}

void progress_steps(std::shared_ptr<tool_call> call, int done) {
  call->progress(done, 100, "");
  if (done == 100)
    return call->reply(tool_result::text("Tool with progress executed successfully"));
  call->after(std::chrono::milliseconds{50}, [call, done] { progress_steps(call, done + 50); });
}

/// A tool that asks the client once (request_input) and answers with what
/// came back; without the capability the call fails with -32021.
tool_handler ask_once(std::string key, std::function<json(const json& args)> request,
                      std::function<std::string(const json& response)> answer) {
  return [key, request, answer](const json& args, std::shared_ptr<tool_call> call) {
    auto& responses = call->input_responses();
    if (auto r = responses.find(key); r != responses.end())
      return call->reply(tool_result::text(answer(*r)));
    call->request_input(json{{key, request(args)}});
  };
}

} // namespace

void add_conformance_tools(catalog& cat) {
  cat.add_tool(tool_def{"test_simple_text", "", "Returns simple text.", no_args(), nullptr, nullptr,
                        sync_tool([](const json&) { return tool_result::text("This is a simple text response for testing."); }),
                        true});
  cat.add_tool(tool_def{"test_image_content", "", "Returns a 1x1 PNG image.", no_args(), nullptr, nullptr,
                        sync_tool([](const json&) { return content(json::array({image_block()})); }), true});
  auto wav = silent_wav_base64();
  cat.add_tool(tool_def{"test_audio_content", "", "Returns a short WAV clip.", no_args(), nullptr, nullptr,
                        sync_tool([wav](const json&) {
                          return content(json::array({json{{"type", "audio"}, {"data", wav}, {"mimeType", "audio/wav"}}}));
                        }),
                        true});
  cat.add_tool(tool_def{"test_embedded_resource", "", "Returns an embedded resource.", no_args(), nullptr, nullptr,
                        sync_tool([](const json&) {
                          return content(json::array({json{{"type", "resource"},
                                                           {"resource",
                                                            {{"uri", "test://embedded-resource"},
                                                             {"mimeType", "text/plain"},
                                                             {"text", "This is an embedded resource content."}}}}}));
                        }),
                        true});
  cat.add_tool(tool_def{"test_multiple_content_types", "", "Returns text, an image and a resource.", no_args(),
                        nullptr, nullptr,
                        sync_tool([](const json&) {
                          return content(json::array({json{{"type", "text"}, {"text", "Multiple content types test:"}},
                                                      image_block(),
                                                      json{{"type", "resource"},
                                                           {"resource",
                                                            {{"uri", "test://mixed-content-resource"},
                                                             {"mimeType", "application/json"},
                                                             {"text", R"({"test":"data","value":123})"}}}}}));
                        }),
                        true});
  cat.add_tool(tool_def{"test_tool_with_logging", "", "Sends three info log messages, 50 ms apart.", no_args(),
                        nullptr, nullptr, [](const json&, std::shared_ptr<tool_call> call) { log_steps(call, 0); },
                        true});
  cat.add_tool(tool_def{"test_tool_with_progress", "", "Reports progress 0, 50 and 100 of 100, 50 ms apart.",
                        no_args(), nullptr, nullptr,
                        [](const json&, std::shared_ptr<tool_call> call) { progress_steps(call, 0); }, true});
  cat.add_tool(tool_def{"test_error_handling", "", "Always fails (isError).", no_args(), nullptr, nullptr,
                        sync_tool([](const json&) {
                          return tool_result::error("This tool intentionally returns an error for testing");
                        }),
                        true});
  cat.add_tool(tool_def{
    "test_sampling", "", "Asks the client's LLM (sampling/createMessage) and returns its answer.",
    string_arg("prompt", "The prompt to send to the LLM"), nullptr, nullptr,
    ask_once(
      "sampling",
      [](const json& args) {
        return json{{"method", "sampling/createMessage"},
                    {"params",
                     {{"messages", json::array({json{{"role", "user"},
                                                     {"content", {{"type", "text"}, {"text", args["prompt"]}}}}})},
                      {"maxTokens", 100}}}};
      },
      [](const json& r) {
        auto c = r.value("content", json::object());
        return "LLM response: " + (c.is_object() && c.contains("text") ? c["text"].get<std::string>() : c.dump());
      }),
    false});
  cat.add_tool(tool_def{
    "test_elicitation", "", "Asks the user (elicitation/create) for a username and an email.",
    string_arg("message", "The message to show the user"), nullptr, nullptr,
    ask_once(
      "user",
      [](const json& args) {
        return json{{"method", "elicitation/create"},
                    {"params",
                     {{"message", args["message"]},
                      {"requestedSchema",
                       {{"type", "object"},
                        {"properties",
                         {{"username", {{"type", "string"}, {"description", "User's response"}}},
                          {"email", {{"type", "string"}, {"description", "User's email address"}}}}},
                        {"required", {"username", "email"}}}}}}};
      },
      [](const json& r) {
        return "User response: action=" + r.value("action", std::string{"?"})
               + ", content=" + r.value("content", json::object()).dump();
      }),
    false});
}

} // namespace cafmcp::protocol
