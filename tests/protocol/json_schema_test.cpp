#include <doctest/doctest.h>

#include "protocol/json_schema.hpp"

using namespace cafmcp::protocol;
using nlohmann::json;

namespace {

std::string first_error(const json& schema, const json& value) {
  auto v = validate_schema(schema, value);
  return v.empty() ? "" : v.front().to_string();
}

const json order_schema = json::parse(R"({
  "type": "object",
  "properties": {
    "text": {"type": "string", "minLength": 1, "maxLength": 5},
    "count": {"type": "integer", "minimum": 1, "maximum": 10},
    "mode": {"enum": ["fast", "slow"]},
    "items": {"type": "array", "maxItems": 3, "items": {
      "type": "object", "properties": {"name": {"type": "string", "pattern": "^[a-z]+$"}},
      "required": ["name"], "additionalProperties": false}}
  },
  "required": ["text"]
})");

} // namespace

TEST_CASE("valid arguments pass the tool's schema") {
  CHECK(validate_schema(order_schema, json::parse(R"({"text":"hi","count":3,"mode":"fast","items":[{"name":"ab"}]})")).empty());
  CHECK(validate_schema(order_schema, json::parse(R"({"text":"héllo"})")).empty()); // 5 characters, 6 bytes
  CHECK(validate_schema(order_schema, json::parse(R"({"text":"x","count":2.0})")).empty());
}

TEST_CASE("schema violations name the path of the offending field") {
  CHECK(first_error(order_schema, json::parse(R"({})")) == "text: is required");
  CHECK(first_error(order_schema, json::parse(R"({"text":5})")) == "text: must be a string, got an integer");
  CHECK(first_error(order_schema, json::parse(R"({"text":""})")) == "text: must be at least 1 characters long");
  CHECK(first_error(order_schema, json::parse(R"({"text":"toolong"})")) == "text: must be at most 5 characters long");
  CHECK(first_error(order_schema, json::parse(R"({"text":"a","count":0})")) == "count: must be at least 1");
  CHECK(first_error(order_schema, json::parse(R"({"text":"a","count":1.5})")) == "count: must be an integer, got a number");
  CHECK(first_error(order_schema, json::parse(R"({"text":"a","mode":"medium"})")) == R"(mode: must be one of ["fast","slow"])");
  CHECK(first_error(order_schema, json::parse(R"({"text":"a","items":[{"name":"ok"},{"name":"NO"}]})"))
        == R"(items[1].name: must match the pattern "^[a-z]+$")");
  CHECK(first_error(order_schema, json::parse(R"({"text":"a","items":[{}]})")) == "items[0].name: is required");
  CHECK(first_error(order_schema, json::parse(R"({"text":"a","items":[{"name":"a","x":1}]})"))
        == "items[0].x: is not an allowed property");
  CHECK(first_error(order_schema, json::parse(R"({"text":"a","items":[{"name":"a"},{"name":"b"},{"name":"c"},{"name":"d"}]})"))
        == "items: must have at most 3 items");
  CHECK(first_error(order_schema, json::parse(R"("text")")) == "must be an object, got a string");
}

TEST_CASE("a string too long for a pattern is refused instead of risking the stack") {
  auto s = json::parse(R"({"type":"string","pattern":"^a+$"})");
  CHECK(validate_schema(s, std::string(4096, 'a')).empty());
  CHECK(first_error(s, std::string(1 << 20, 'a')) == R"(is too long to match against the pattern "^a+$" (at most 4096 bytes))");
}

TEST_CASE("anyOf, oneOf, allOf, not and type lists are checked") {
  auto s = json::parse(R"({"anyOf":[{"type":"string"},{"type":"integer"}]})");
  CHECK(validate_schema(s, 3).empty());
  CHECK(first_error(s, true) == "must match at least one of the allowed schemas (anyOf)");
  auto o = json::parse(R"({"oneOf":[{"type":"integer"},{"minimum":0}]})");
  CHECK(first_error(o, 5) == "must match exactly one of the allowed schemas (oneOf), matched 2");
  CHECK(validate_schema(o, -1).empty());
  auto a = json::parse(R"({"allOf":[{"minimum":0},{"maximum":10}]})");
  CHECK(first_error(a, 11) == "must be at most 10");
  CHECK(first_error(json::parse(R"({"not":{"type":"null"}})"), nullptr) == "must not match the schema in \"not\"");
  CHECK(first_error(json::parse(R"({"type":["string","null"]})"), 1) == "must be a string or a null, got an integer");
}

TEST_CASE("a tool's input schema must be an object schema") {
  CHECK(check_input_schema(json::parse(R"({"type":"object"})")).empty());
  CHECK(check_input_schema(json::parse(R"({"type":"string"})")) == "an input schema must have \"type\": \"object\"");
  CHECK(check_input_schema(json::parse(R"({"type":"object","required":"x"})")) == "\"required\" must be an array");
}
