#pragma once

// Validation of tool arguments against a tool's JSON Schema: the subset MCP
// tool schemas use (type, properties, required, additionalProperties, items,
// enum, const, bounds, lengths, pattern, allOf/anyOf/oneOf/not). Keywords
// outside it are ignored, as JSON Schema ignores unknown keywords. Every
// error names the path of the offending field.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cafmcp::protocol {

struct schema_violation {
  std::string path;    // "text", "items[2].name"; "" for the value itself
  std::string message; // "must be a string, got an integer"
  std::string to_string() const;
};

/// Longest string checked against a "pattern"; a longer one is a violation.
constexpr size_t max_pattern_input = 4096;

/// All violations of `value` against `schema` (empty: valid).
std::vector<schema_violation> validate_schema(const nlohmann::json& schema, const nlohmann::json& value);

/// Checks that `schema` is usable for tool input: an object schema
/// ("type": "object"). Returns an error message, or "" when it is fine.
std::string check_input_schema(const nlohmann::json& schema);

} // namespace cafmcp::protocol
