// The catalog: what an MCP server offers (tools, resources, templates, prompts).
#include "protocol/catalog.hpp"

#include <stdexcept>

#include "protocol/json_schema.hpp"

namespace cafmcp::protocol {

tool_result tool_result::text(std::string s) {
  tool_result r;
  r.content.push_back(nlohmann::json{{"type", "text"}, {"text", std::move(s)}});
  return r;
}

tool_result tool_result::error(std::string s) {
  auto r = text(std::move(s));
  r.is_error = true;
  return r;
}

nlohmann::json tool_result::to_json() const {
  nlohmann::json out{{"content", content}};
  if (!structured.is_null())
    out["structuredContent"] = structured;
  if (is_error)
    out["isError"] = true;
  return out;
}

tool_handler sync_tool(tool_function fn) {
  return [fn](const nlohmann::json& args, std::shared_ptr<tool_call> call) { call->reply(fn(args)); };
}

tool_def inline_tool(tool_def def, tool_function fn) {
  def.handler = sync_tool(fn);
  def.inline_handler = std::move(fn);
  return def;
}

nlohmann::json resource_contents::to_json() const {
  nlohmann::json out{{"uri", uri}};
  if (!mime_type.empty())
    out["mimeType"] = mime_type;
  if (text)
    out["text"] = *text;
  if (blob_base64)
    out["blob"] = *blob_base64;
  return out;
}

catalog::catalog(server_identity id) : id_(std::move(id)) {
}

void catalog::add_tool(tool_def t) {
  if (t.name.empty())
    throw std::invalid_argument("a tool needs a name");
  if (find_tool(t.name))
    throw std::invalid_argument("tool " + t.name + " is registered twice");
  if (!t.handler)
    throw std::invalid_argument("tool " + t.name + " has no handler");
  if (auto err = check_input_schema(t.input_schema); !err.empty())
    throw std::invalid_argument("tool " + t.name + ": " + err);
  tools_.push_back(std::move(t));
}

void catalog::add_resource(resource_def r) {
  if (r.uri.empty() || r.name.empty())
    throw std::invalid_argument("a resource needs a uri and a name");
  if (find_resource(r.uri))
    throw std::invalid_argument("resource " + r.uri + " is registered twice");
  if (!r.read && !r.relay)
    throw std::invalid_argument("resource " + r.uri + " has no read function");
  resources_.push_back(std::move(r));
}

void catalog::add_resource_template(resource_template_def t) {
  if (t.uri_template.empty() || t.name.empty())
    throw std::invalid_argument("a resource template needs a uriTemplate and a name");
  if (!t.read && !t.relay)
    throw std::invalid_argument("resource template " + t.uri_template + " has no read function");
  for (auto& other : templates_)
    if (other.uri_template == t.uri_template)
      throw std::invalid_argument("resource template " + t.uri_template + " is registered twice");
  templates_.push_back(std::move(t));
}

void catalog::add_prompt(prompt_def p) {
  if (p.name.empty())
    throw std::invalid_argument("a prompt needs a name");
  if (find_prompt(p.name))
    throw std::invalid_argument("prompt " + p.name + " is registered twice");
  if (!p.get && !p.relay)
    throw std::invalid_argument("prompt " + p.name + " has no get function");
  prompts_.push_back(std::move(p));
}

namespace {

template <class T, class Key>
bool remove_named(std::vector<T>& items, const std::string& name, Key key) {
  for (auto i = items.begin(); i != items.end(); ++i)
    if (key(*i) == name) {
      items.erase(i);
      return true;
    }
  return false;
}

} // namespace

bool catalog::remove_tool(const std::string& name) {
  return remove_named(tools_, name, [](const tool_def& t) { return t.name; });
}

bool catalog::remove_resource(const std::string& uri) {
  return remove_named(resources_, uri, [](const resource_def& r) { return r.uri; });
}

bool catalog::remove_resource_template(const std::string& uri_template) {
  return remove_named(templates_, uri_template, [](const resource_template_def& t) { return t.uri_template; });
}

bool catalog::remove_prompt(const std::string& name) {
  return remove_named(prompts_, name, [](const prompt_def& p) { return p.name; });
}

const tool_def* catalog::find_tool(const std::string& name) const {
  for (auto& t : tools_)
    if (t.name == name)
      return &t;
  return nullptr;
}

const prompt_def* catalog::find_prompt(const std::string& name) const {
  for (auto& p : prompts_)
    if (p.name == name)
      return &p;
  return nullptr;
}

const resource_def* catalog::find_resource(const std::string& uri) const {
  for (auto& r : resources_)
    if (r.uri == uri)
      return &r;
  return nullptr;
}

const resource_template_def* catalog::match_template(const std::string& uri,
                                                     std::map<std::string, std::string>& vars) const {
  for (auto& t : templates_) {
    vars.clear();
    if (match_uri_template(t.uri_template, uri, vars))
      return &t;
  }
  return nullptr;
}

bool match_uri_template(const std::string& tmpl, const std::string& uri,
                        std::map<std::string, std::string>& vars) {
  size_t ti = 0, ui = 0;
  while (ti < tmpl.size()) {
    if (tmpl[ti] == '{') {
      auto close = tmpl.find('}', ti);
      if (close == std::string::npos)
        return false;
      auto name = tmpl.substr(ti + 1, close - ti - 1);
      ti = close + 1;
      // The variable runs to the next literal character of the template
      // (or the end); a level-1 value never contains '/'.
      char stop = ti < tmpl.size() ? tmpl[ti] : '\0';
      auto start = ui;
      while (ui < uri.size() && uri[ui] != stop && uri[ui] != '/')
        ++ui;
      if (ui == start)
        return false;
      vars[name] = uri.substr(start, ui - start);
      continue;
    }
    if (ui >= uri.size() || uri[ui] != tmpl[ti])
      return false;
    ++ti;
    ++ui;
  }
  return ui == uri.size();
}

} // namespace cafmcp::protocol
