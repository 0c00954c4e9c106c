// libFuzzer target: whatever bytes a client sends, decoding, schema
// validation of tool arguments, building the reply and opening an
// (attacker-controlled) MRTR requestState must not crash, hang or leak. Build and run: bash tests/fuzz/run.sh [seconds]

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "protocol/base64.hpp"
#include "protocol/json_rpc.hpp"
#include "protocol/json_schema.hpp"
#include "protocol/request_state.hpp"

using namespace cafmcp::protocol;
using nlohmann::json;

namespace {

// A tool input schema using every keyword the validator knows.
const json& tool_schema() {
  static const json s = json::parse(R"({
    "type": "object",
    "properties": {
      "text": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[a-z ]*$"},
      "n": {"type": "integer", "minimum": 0, "exclusiveMaximum": 100},
      "mode": {"enum": ["a", "b"]},
      "items": {"type": "array", "maxItems": 4, "items": {"type": "object",
                "properties": {"k": {"type": ["string", "null"]}}, "required": ["k"],
                "additionalProperties": false}},
      "any": {"anyOf": [{"type": "number"}, {"type": "boolean"}]},
      "one": {"oneOf": [{"const": 1}, {"type": "string"}]},
      "not": {"not": {"type": "null"}}
    },
    "required": ["text"]
  })");
  return s;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  static const request_state_sealer sealer{"fuzz-key"};
  (void) sealer.open(std::string{text});
  (void) base64_decode(text);
  for (bool batches : {false, true}) {
    auto d = decode(text, batches);
    for (auto& item : d.items) {
      if (item.error) {
        (void) dump(make_error(item.error_id, *item.error));
        continue;
      }
      auto& msg = *item.message;
      (void) dump(make_result(msg.id, msg.params));
      if (msg.params.is_object() && msg.params.contains("arguments"))
        for (auto& v : validate_schema(tool_schema(), msg.params["arguments"]))
          (void) v.to_string();
    }
  }
  return 0;
}
