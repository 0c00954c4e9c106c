// Config schemas: each component's keys, types and defaults, validated with the key named.
#include "base/config_schema.hpp"

#include <algorithm>
#include <cmath>

namespace cafmcp::config {

namespace {

std::string join(const std::string& prefix, const std::string& key) {
  return prefix.empty() ? key : prefix + "." + key;
}

std::string type_name(value_type t) {
  switch (t) {
    case value_type::string: return "a string";
    case value_type::integer: return "an integer";
    case value_type::number: return "a number";
    case value_type::boolean: return "true or false";
    case value_type::object: return "an object";
    case value_type::string_list: return "a list of strings";
    case value_type::object_map: return "an object of named entries";
    case value_type::any: return "JSON";
  }
  return "?";
}

std::string json_type(const nlohmann::json& v) {
  if (v.is_string()) return "a string";
  if (v.is_number_integer() || v.is_number_unsigned()) return "an integer";
  if (v.is_number()) return "a number";
  if (v.is_boolean()) return "a boolean";
  if (v.is_object()) return "an object";
  if (v.is_array()) return "a list";
  return "null";
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string suggestion(const std::string& key, const std::vector<field>& schema) {
  std::string best;
  size_t best_d = 3; // only close matches
  for (auto& f : schema) {
    // A prefix ("ttl" for "ttl_ms") is as likely a slip as a typo.
    auto prefix = f.key.rfind(key, 0) == 0 || key.rfind(f.key, 0) == 0;
    auto d = prefix ? 1 : edit_distance(key, f.key);
    if (d < best_d) {
      best_d = d;
      best = f.key;
    }
  }
  if (!best.empty())
    return " (did you mean \"" + best + "\"?)";
  std::string known;
  for (auto& f : schema)
    known += (known.empty() ? "" : ", ") + f.key;
  return " (known keys: " + known + ")";
}

/// A bound as the operator wrote it: "1" for integers, "0.5" for numbers.
std::string format_bound(const field& f, double b) {
  return f.type == value_type::integer ? std::to_string(static_cast<long long>(b))
                                       : nlohmann::json(b).dump();
}

void check_value(const field& f, const nlohmann::json& v, const std::string& key) {
  auto wrong = [&] {
    throw config_error(key, "must be " + type_name(f.type) + ", got " + json_type(v) + " " + v.dump());
  };
  switch (f.type) {
    case value_type::string:
      if (!v.is_string())
        wrong();
      if (!f.choices.empty()
          && std::find(f.choices.begin(), f.choices.end(), v.get<std::string>()) == f.choices.end()) {
        std::string list;
        for (auto& c : f.choices)
          list += (list.empty() ? "" : ", ") + c;
        throw config_error(key, "must be one of " + list + ", got " + v.dump());
      }
      return;
    case value_type::integer:
    case value_type::number: {
      if (!v.is_number())
        wrong();
      auto d = v.get<double>();
      if (f.type == value_type::integer && !(v.is_number_integer() || v.is_number_unsigned()))
        wrong();
      if (f.min && d < *f.min)
        throw config_error(key, "must be at least " + format_bound(f, *f.min) + ", got " + v.dump());
      if (f.max && d > *f.max)
        throw config_error(key, "must be at most " + format_bound(f, *f.max) + ", got " + v.dump());
      return;
    }
    case value_type::boolean:
      if (!v.is_boolean())
        wrong();
      return;
    case value_type::string_list:
      if (!v.is_array())
        wrong();
      for (auto& e : v)
        if (!e.is_string())
          throw config_error(key, "must be a list of strings, got an element " + e.dump());
      return;
    case value_type::object:
    case value_type::object_map:
      if (!v.is_object())
        wrong();
      return;
    case value_type::any:
      return;
  }
}

} // namespace

nlohmann::json validate(const nlohmann::json& in, const std::vector<field>& schema,
                        const std::string& prefix) {
  if (!in.is_object())
    throw config_error(prefix, "must be an object, got " + json_type(in));
  for (auto& [key, value] : in.items()) {
    auto i = std::find_if(schema.begin(), schema.end(), [&](const field& f) { return f.key == key; });
    if (i == schema.end())
      throw config_error(join(prefix, key), "unknown key" + suggestion(key, schema));
    (void) value;
  }
  nlohmann::json out = nlohmann::json::object();
  for (auto& f : schema) {
    auto key = join(prefix, f.key);
    auto i = in.find(f.key);
    if (f.type == value_type::object) {
      auto sub = i == in.end() ? nlohmann::json::object() : *i;
      check_value(f, sub, key);
      out[f.key] = validate(sub, f.fields, key);
      continue;
    }
    if (f.type == value_type::object_map) {
      auto sub = i == in.end() ? nlohmann::json::object() : *i;
      check_value(f, sub, key);
      auto entries = nlohmann::json::object();
      for (auto& [name, entry] : sub.items())
        entries[name] = validate(entry, f.fields, join(key, name));
      out[f.key] = std::move(entries);
      continue;
    }
    if (i == in.end()) {
      out[f.key] = f.default_value;
      continue;
    }
    check_value(f, *i, key);
    out[f.key] = *i;
  }
  return out;
}

nlohmann::json defaults(const std::vector<field>& schema) {
  return validate(nlohmann::json::object(), schema);
}

namespace {

void describe_rows(const std::vector<field>& schema, const std::string& prefix, std::string& out) {
  for (auto& f : schema) {
    auto key = join(prefix, f.key);
    if (f.type == value_type::object) {
      describe_rows(f.fields, key, out);
      continue;
    }
    if (f.type == value_type::object_map) {
      out += "| `" + key + "` | " + type_name(f.type) + " | `{}` | " + f.description + " |\n";
      describe_rows(f.fields, key + ".<name>", out);
      continue;
    }
    std::string type = type_name(f.type);
    if (!f.choices.empty()) {
      type = "one of";
      for (auto& c : f.choices)
        type += " `" + c + "`";
    }
    if (f.min || f.max) {
      type += " (";
      if (f.min)
        type += "≥ " + format_bound(f, *f.min);
      if (f.min && f.max)
        type += ", ";
      if (f.max)
        type += "≤ " + format_bound(f, *f.max);
      type += ")";
    }
    out += "| `" + key + "` | " + type + " | `" + f.default_value.dump() + "` | " + f.description
           + " |\n";
  }
}

} // namespace

std::string describe(const std::vector<field>& schema) {
  std::string out = "| key | type | default | meaning |\n|---|---|---|---|\n";
  describe_rows(schema, "", out);
  return out;
}

} // namespace cafmcp::config
