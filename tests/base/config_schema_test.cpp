#include <doctest/doctest.h>

#include "base/config_schema.hpp"

using namespace cafmcp::config;
using nlohmann::json;

namespace {

std::vector<field> schema() {
  return {
    {"name", value_type::string, "n1", "node name", {}, {}, {}, {}},
    {"mode", value_type::string, "a", "mode", {}, {}, {"a", "b"}, {}},
    {"limits", value_type::object, {}, "limits", {}, {}, {}, {
      {"max", value_type::integer, 10, "max", 1, 100, {}, {}},
      {"ratio", value_type::number, 0.5, "ratio", 0, 1, {}, {}},
      {"on", value_type::boolean, true, "on", {}, {}, {}, {}},
      {"seeds", value_type::string_list, json::array(), "seeds", {}, {}, {}, {}},
    }},
  };
}

std::string error_of(const json& in) {
  try {
    validate(in, schema());
  } catch (const config_error& e) {
    return e.what();
  }
  return "";
}

} // namespace

TEST_CASE("a config schema fills in every default") {
  auto out = defaults(schema());
  CHECK(out["name"] == "n1");
  CHECK(out["limits"]["max"] == 10);
  CHECK(out["limits"]["seeds"] == json::array());
}

TEST_CASE("a config schema keeps given values and rejects unknown keys with a suggestion") {
  auto out = validate(json{{"name", "x"}, {"limits", {{"max", 5}}}}, schema());
  CHECK(out["name"] == "x");
  CHECK(out["limits"]["max"] == 5);
  CHECK(out["limits"]["ratio"] == 0.5);
  CHECK(error_of(json{{"nme", "x"}}) == R"("nme": unknown key (did you mean "name"?))");
  CHECK(error_of(json{{"limits", {{"zzzzzz", 1}}}}).find("\"limits.zzzzzz\": unknown key (known keys:")
        == 0);
}

TEST_CASE("a config schema names the key of a wrong type or an out-of-range value") {
  CHECK(error_of(json{{"name", 5}}) == R"("name": must be a string, got an integer 5)");
  CHECK(error_of(json{{"limits", {{"max", "10"}}}}) == R"("limits.max": must be an integer, got a string "10")");
  CHECK(error_of(json{{"limits", {{"max", 1.5}}}}) == R"("limits.max": must be an integer, got a number 1.5)");
  CHECK(error_of(json{{"limits", {{"max", 0}}}}) == R"("limits.max": must be at least 1, got 0)");
  CHECK(error_of(json{{"limits", {{"max", 101}}}}) == R"("limits.max": must be at most 100, got 101)");
  CHECK(error_of(json{{"limits", {{"on", "yes"}}}}) == R"("limits.on": must be true or false, got a string "yes")");
  CHECK(error_of(json{{"limits", {{"seeds", {1}}}}}) == R"("limits.seeds": must be a list of strings, got an element 1)");
  CHECK(error_of(json{{"mode", "c"}}) == R"("mode": must be one of a, b, got "c")");
  CHECK(error_of(json{{"limits", 3}}) == R"("limits": must be an object, got an integer 3)");
  CHECK(error_of(json::array()) == "must be an object, got a list");
}
