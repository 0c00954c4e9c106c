// Validation of tool arguments against a JSON Schema subset.
#include "protocol/json_schema.hpp"

#include <cmath>
#include <regex>

namespace cafmcp::protocol {

namespace {

std::string type_of(const nlohmann::json& v) {
  switch (v.type()) {
    case nlohmann::json::value_t::null: return "null";
    case nlohmann::json::value_t::boolean: return "boolean";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned: return "integer";
    case nlohmann::json::value_t::number_float: return "number";
    case nlohmann::json::value_t::string: return "string";
    case nlohmann::json::value_t::array: return "array";
    case nlohmann::json::value_t::object: return "object";
    default: return "unknown";
  }
}

bool has_type(const nlohmann::json& v, const std::string& t) {
  if (t == "integer")
    return v.is_number_integer() || v.is_number_unsigned()
           || (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>());
  if (t == "number")
    return v.is_number();
  return type_of(v) == t;
}

std::string join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

std::string article(const std::string& type) {
  return (type == "integer" || type == "object" || type == "array" ? "an " : "a ") + type;
}

// Code points, not bytes: JSON Schema counts characters.
size_t utf8_length(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80)
      ++n;
  return n;
}

void check(const nlohmann::json& schema, const nlohmann::json& v, const std::string& path,
           std::vector<schema_violation>& out);

bool valid(const nlohmann::json& schema, const nlohmann::json& v) {
  std::vector<schema_violation> tmp;
  check(schema, v, "", tmp);
  return tmp.empty();
}

void check(const nlohmann::json& schema, const nlohmann::json& v, const std::string& path,
           std::vector<schema_violation>& out) {
  if (schema.is_boolean()) {
    if (!schema.get<bool>())
      out.push_back({path, "is not allowed"});
    return;
  }
  if (!schema.is_object())
    return;
  auto fail = [&](std::string msg) { out.push_back({path, std::move(msg)}); };

  if (auto t = schema.find("type"); t != schema.end()) {
    std::vector<std::string> types;
    if (t->is_string())
      types.push_back(t->get<std::string>());
    else if (t->is_array())
      for (auto& x : *t)
        if (x.is_string())
          types.push_back(x.get<std::string>());
    bool ok = types.empty();
    for (auto& ty : types)
      ok = ok || has_type(v, ty);
    if (!ok) {
      std::string want;
      for (size_t i = 0; i < types.size(); ++i)
        want += (i == 0 ? "" : " or ") + article(types[i]);
      fail("must be " + want + ", got " + article(type_of(v)));
      return; // the other keywords would only repeat the type error
    }
  }
  if (auto e = schema.find("enum"); e != schema.end() && e->is_array()) {
    bool found = false;
    for (auto& x : *e)
      found = found || x == v;
    if (!found)
      fail("must be one of " + e->dump());
  }
  if (auto c = schema.find("const"); c != schema.end() && *c != v)
    fail("must be " + c->dump());

  if (v.is_number()) {
    auto d = v.get<double>();
    if (auto m = schema.find("minimum"); m != schema.end() && m->is_number() && d < m->get<double>())
      fail("must be at least " + m->dump());
    if (auto m = schema.find("maximum"); m != schema.end() && m->is_number() && d > m->get<double>())
      fail("must be at most " + m->dump());
    if (auto m = schema.find("exclusiveMinimum"); m != schema.end() && m->is_number()
                                                  && d <= m->get<double>())
      fail("must be greater than " + m->dump());
    if (auto m = schema.find("exclusiveMaximum"); m != schema.end() && m->is_number()
                                                  && d >= m->get<double>())
      fail("must be less than " + m->dump());
  }
  if (v.is_string()) {
    auto& s = v.get_ref<const std::string&>();
    auto len = utf8_length(s);
    if (auto m = schema.find("minLength"); m != schema.end() && m->is_number_unsigned()
                                           && len < m->get<size_t>())
      fail("must be at least " + m->dump() + " characters long");
    if (auto m = schema.find("maxLength"); m != schema.end() && m->is_number_unsigned()
                                           && len > m->get<size_t>())
      fail("must be at most " + m->dump() + " characters long");
    if (auto p = schema.find("pattern"); p != schema.end() && p->is_string()) {
      // libstdc++'s std::regex recurses per character: a long client string
      // could exhaust the thread's stack. Patterns check short strings only.
      if (s.size() > max_pattern_input) {
        fail("is too long to match against the pattern " + p->dump() + " (at most "
             + std::to_string(max_pattern_input) + " bytes)");
      } else try {
        if (!std::regex_search(s, std::regex{p->get<std::string>(), std::regex::ECMAScript}))
          fail("must match the pattern " + p->dump());
      } catch (const std::regex_error&) {
        // An unusable pattern in the server's own schema is not the client's fault.
      }
    }
  }
  if (v.is_array()) {
    if (auto m = schema.find("minItems"); m != schema.end() && m->is_number_unsigned()
                                          && v.size() < m->get<size_t>())
      fail("must have at least " + m->dump() + " items");
    if (auto m = schema.find("maxItems"); m != schema.end() && m->is_number_unsigned()
                                          && v.size() > m->get<size_t>())
      fail("must have at most " + m->dump() + " items");
    if (auto items = schema.find("items"); items != schema.end())
      for (size_t i = 0; i < v.size(); ++i)
        check(*items, v[i], path + "[" + std::to_string(i) + "]", out);
  }
  if (v.is_object()) {
    auto props = schema.find("properties");
    if (auto req = schema.find("required"); req != schema.end() && req->is_array())
      for (auto& r : *req)
        if (r.is_string() && !v.contains(r.get<std::string>()))
          out.push_back({join(path, r.get<std::string>()), "is required"});
    for (auto& [key, value] : v.items()) {
      if (props != schema.end() && props->is_object() && props->contains(key)) {
        check((*props)[key], value, join(path, key), out);
        continue;
      }
      if (auto ap = schema.find("additionalProperties"); ap != schema.end()) {
        if (ap->is_boolean() && !ap->get<bool>())
          out.push_back({join(path, key), "is not an allowed property"});
        else if (ap->is_object())
          check(*ap, value, join(path, key), out);
      }
    }
  }
  if (auto all = schema.find("allOf"); all != schema.end() && all->is_array())
    for (auto& s : *all)
      check(s, v, path, out);
  if (auto any = schema.find("anyOf"); any != schema.end() && any->is_array()) {
    bool ok = false;
    for (auto& s : *any)
      ok = ok || valid(s, v);
    if (!ok)
      fail("must match at least one of the allowed schemas (anyOf)");
  }
  if (auto one = schema.find("oneOf"); one != schema.end() && one->is_array()) {
    int matches = 0;
    for (auto& s : *one)
      matches += valid(s, v) ? 1 : 0;
    if (matches != 1)
      fail("must match exactly one of the allowed schemas (oneOf), matched " + std::to_string(matches));
  }
  if (auto n = schema.find("not"); n != schema.end() && valid(*n, v))
    fail("must not match the schema in \"not\"");
}

} // namespace

std::string schema_violation::to_string() const {
  return path.empty() ? message : path + ": " + message;
}

std::vector<schema_violation> validate_schema(const nlohmann::json& schema, const nlohmann::json& value) {
  std::vector<schema_violation> out;
  check(schema, value, "", out);
  return out;
}

std::string check_input_schema(const nlohmann::json& schema) {
  if (!schema.is_object())
    return "an input schema must be a JSON object";
  auto t = schema.find("type");
  if (t == schema.end() || *t != "object")
    return "an input schema must have \"type\": \"object\"";
  if (auto p = schema.find("properties"); p != schema.end() && !p->is_object())
    return "\"properties\" must be an object";
  if (auto r = schema.find("required"); r != schema.end() && !r->is_array())
    return "\"required\" must be an array";
  return "";
}

} // namespace cafmcp::protocol
