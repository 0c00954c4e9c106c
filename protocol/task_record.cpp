// The replicated record of a task: its JSON format in one place.
#include "protocol/task_record.hpp"

namespace cafmcp::protocol {

using nlohmann::json;

namespace {

constexpr const char* task_kind = "task";

/// Reads optional field `key` of type T into `out`; false when it is there
/// with another type.
template <class T, class Check>
bool read_optional(const json& j, const char* key, T& out, Check is_type) {
  auto i = j.find(key);
  if (i == j.end() || i->is_null())
    return true;
  if (!is_type(*i))
    return false;
  out = i->template get<T>();
  return true;
}

} // namespace

json task_record::to_json() const {
  json out{{"kind", task_kind},      {"owner", owner},           {"tool", tool},
           {"arguments", arguments}, {"idempotent", idempotent}, {"resumed", resumed}};
  if (!tenant.empty()) // absent in records from before tenants: no tenant's
    out["tenant"] = tenant;
  return out;
}

std::optional<task_record> task_record::from_json(const json& j) {
  if (!j.is_object() || j.value("kind", json()) != task_kind)
    return std::nullopt;
  auto tool = j.find("tool");
  if (tool == j.end() || !tool->is_string())
    return std::nullopt;
  task_record r;
  r.tool = tool->get<std::string>();
  auto is_string = [](const json& v) { return v.is_string(); };
  auto is_bool = [](const json& v) { return v.is_boolean(); };
  auto is_object = [](const json& v) { return v.is_object(); };
  if (!read_optional(j, "owner", r.owner, is_string) || !read_optional(j, "arguments", r.arguments, is_object)
      || !read_optional(j, "idempotent", r.idempotent, is_bool) || !read_optional(j, "resumed", r.resumed, is_bool)
      || !read_optional(j, "tenant", r.tenant, is_string))
    return std::nullopt;
  return r;
}

std::optional<task_record> task_record::from_info(std::string_view info) {
  return from_json(json::parse(info, nullptr, false));
}

std::optional<json> parse_task_state(std::string_view text) {
  auto state = json::parse(text, nullptr, false);
  if (!state.is_object())
    return std::nullopt;
  return state;
}

std::optional<std::string> working_task_owner(std::string_view info, std::string_view state) {
  if (info.find("\"task\"") == std::string_view::npos)
    return std::nullopt; // cheap filter before parsing: a scan reads every record
  auto rec = task_record::from_info(info);
  if (!rec)
    return std::nullopt;
  auto st = parse_task_state(state);
  if (!st || st->value("status", json()) != "working")
    return std::nullopt;
  return rec->owner;
}

} // namespace cafmcp::protocol
