#pragma once

// Config schemas (as userver does it): each component declares its keys with
// a type, default, bounds and description; a config is validated at start
// and every error names the offending key.

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cafmcp::config {

/// object_map: an object whose keys the operator names (e.g. upstream
/// servers by name), each value an object with the keys in `fields`.
/// any: free-form JSON its component checks itself (e.g. routing rules).
enum class value_type { string, integer, number, boolean, object, string_list, object_map, any };

struct field {
  std::string key;
  value_type type = value_type::string;
  nlohmann::json default_value; // ignored for objects
  std::string description;
  std::optional<double> min;            // integers and numbers
  std::optional<double> max;            // integers and numbers
  std::vector<std::string> choices;     // strings: the allowed values
  std::vector<field> fields;            // objects: the nested keys
};

/// A config error; key() is the dotted path of the offending key.
class config_error : public std::runtime_error {
public:
  config_error(std::string key, const std::string& message)
    : std::runtime_error(key.empty() ? message : "\"" + key + "\": " + message),
      key_(std::move(key)) {
  }
  const std::string& key() const { return key_; }

private:
  std::string key_;
};

/// Validates `in` (must be an object) against `schema` and returns it with
/// every missing key set to its default. Unknown keys and wrong types are
/// errors. Throws config_error.
nlohmann::json validate(const nlohmann::json& in, const std::vector<field>& schema,
                        const std::string& prefix = "");

/// The config made of defaults only.
nlohmann::json defaults(const std::vector<field>& schema);

/// A Markdown table of every key (for docs and `--help-config`).
std::string describe(const std::vector<field>& schema);

} // namespace cafmcp::config
