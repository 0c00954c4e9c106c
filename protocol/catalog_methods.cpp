// The catalog methods both eras share: the paged lists, resources/read, prompts/get, completion/complete.
#include "protocol/endpoint.hpp"

#include "protocol/detail/endpoint_state.hpp"
#include "protocol/detail/pagination.hpp"
#include "protocol/route_choice.hpp"

namespace cafmcp::protocol {

using namespace detail;

namespace {

/// A tenant's view of one list (by name): paged as if it were the catalog.
template <class Def>
const std::vector<Def>& view_of(const std::vector<Def>& all, const std::function<bool(const std::string&)>& visible,
                                std::vector<Def>& seen) {
  if (!visible)
    return all;
  for (auto& d : all)
    if (visible(d.name))
      seen.push_back(d);
  return seen;
}

} // namespace

json endpoint::list_tools(const catalog& cat, const json& params, const visible_fn& visible) {
  std::vector<tool_def> seen;
  return page(view_of(cat.tools(), visible, seen), "tools", params, cat.page_size, [](const tool_def& t) {
    json j{{"name", t.name}, {"inputSchema", t.input_schema}};
    put_if(j, "title", t.title);
    put_if(j, "description", t.description);
    if (!t.output_schema.is_null())
      j["outputSchema"] = t.output_schema;
    if (!t.annotations.is_null())
      j["annotations"] = t.annotations;
    return j;
  });
}

json endpoint::list_resources(const catalog& cat, const json& params, const visible_fn& visible) {
  std::vector<resource_def> seen;
  return page(view_of(cat.resources(), visible, seen), "resources", params, cat.page_size,
              [](const resource_def& r) {
                json j{{"uri", r.uri}, {"name", r.name}};
                put_if(j, "title", r.title);
                put_if(j, "description", r.description);
                put_if(j, "mimeType", r.mime_type);
                return j;
              });
}

json endpoint::list_templates(const catalog& cat, const json& params, const visible_fn& visible) {
  std::vector<resource_template_def> seen;
  return page(view_of(cat.resource_templates(), visible, seen), "resourceTemplates", params, cat.page_size,
              [](const resource_template_def& t) {
                json j{{"uriTemplate", t.uri_template}, {"name", t.name}};
                put_if(j, "title", t.title);
                put_if(j, "description", t.description);
                put_if(j, "mimeType", t.mime_type);
                return j;
              });
}

bool endpoint::resource_visible(const catalog& cat, const std::string& uri, const std::string& tenant) const {
  std::map<std::string, std::string> vars;
  const std::string* name = nullptr;
  if (auto* r = cat.find_resource(uri))
    name = &r->name;
  else if (auto* t = cat.match_template(uri, vars))
    name = &t->name;
  return name && (!env_.tenants || env_.tenants->sees(tenant, *name));
}

void endpoint::subscribe_upstream(const catalog& cat, const std::string& uri) {
  std::map<std::string, std::string> vars;
  if (auto* r = cat.find_resource(uri)) {
    if (r->subscribe)
      r->subscribe();
  } else if (auto* t = cat.match_template(uri, vars); t && t->subscribe) {
    t->subscribe(uri);
  }
}

json endpoint::list_prompts(const catalog& cat, const json& params, const visible_fn& visible) {
  std::vector<prompt_def> seen;
  return page(view_of(cat.prompts(), visible, seen), "prompts", params, cat.page_size, [](const prompt_def& p) {
    json j{{"name", p.name}};
    put_if(j, "title", p.title);
    put_if(j, "description", p.description);
    j["arguments"] = json::array();
    for (auto& a : p.arguments) {
      json arg{{"name", a.name}, {"required", a.required}};
      put_if(arg, "description", a.description);
      j["arguments"].push_back(arg);
    }
    return j;
  });
}

bool endpoint::handle_common(const rpc_message& msg, bool modern, const sink_ptr& out) {
  auto& m = msg.method;
  auto& params = params_object(msg);
  if (m == "tools/call") {
    call_tool(msg, modern, out); // takes its own snapshot
    return true;
  }
  auto cat = env_.catalog->snapshot(); // one consistent view per request
  // What a tenant or an authorised caller gets may be cached for it alone.
  bool shared = out->tenant().empty() && out->subject().empty();
  auto reply = [&](json result, bool cacheable) {
    out->respond(make_result(msg.id, modern ? modern_result(std::move(result), cacheable, shared) : std::move(result)));
  };
  // A tenant sees the tools, prompts, resources and templates its globs
  // allow; the rest do not exist for it (listed, read or got).
  auto tenant = out->tenant();
  visible_fn visible;
  if (env_.tenants && env_.tenants->restricts(tenant))
    visible = [this, &tenant](const std::string& name) { return env_.tenants->sees(tenant, name); };
  auto sees = [&visible](const std::string& name) { return !visible || visible(name); };
  // What an upstream answers, later, on any thread: never thrown out of the relay.
  auto relayed = [&](bool cacheable) -> relay_reply {
    return [self = shared_from_this(), out, id = msg.id, modern, cacheable, shared](std::optional<json> result,
                                                                                    std::optional<rpc_error> error) {
      try {
        if (error)
          out->respond(make_error(id, *error));
        else
          out->respond(
            make_result(id, modern ? self->modern_result(std::move(*result), cacheable, shared) : std::move(*result)));
      } catch (const std::exception& e) {
        out->respond(make_error(id, rpc_error{rpc_code::internal_error, std::string{"an unusable answer: "} + e.what(), nullptr}));
      }
    };
  };
  if (m == "tools/list") {
    reply(list_tools(*cat, params, visible), true);
  } else if (m == "resources/list") {
    reply(list_resources(*cat, params, visible), true);
  } else if (m == "resources/templates/list") {
    reply(list_templates(*cat, params, visible), true);
  } else if (m == "prompts/list") {
    reply(list_prompts(*cat, params, visible), true);
  } else if (m == "resources/read") {
    const auto asked = required_string(params, "uri");
    auto uri = asked; // a rule may answer it with another
    std::vector<resource_contents> contents;
    std::map<std::string, std::string> vars;
    auto not_found = [&] {
      fail(modern ? rpc_code::invalid_params : mcp_code::resource_not_found_legacy, "Resource not found",
           json{{"uri", asked}});
    };
    // The tenant's view applies to the resource asked for (when it is here)
    // and to the one a rule answers it with; a member checks its own.
    // nullopt: this node serves no such resource.
    auto view_of = [&](const std::string& u) -> std::optional<bool> {
      if (auto* r = cat->find_resource(u))
        return sees(r->name);
      if (auto* t = cat->match_template(u, vars))
        return sees(t->name);
      return std::nullopt;
    };
    auto visible_here = [&](const std::string& u) { return view_of(u).value_or(false); };
    std::optional<route_decision> routed;
    if (auto routes = routes_for(env_, *out); routes && uri.size() <= 128) {
      if (view_of(uri) == false)
        not_found();
      if ((routed = choose_route(env_, *routes, "resources/read", uri, *out, visible_here, nullptr, "Resource")))
        uri = routed->tool;
    }
    if (routed && !routed->member.empty()) { // another member reads it (its own checks)
      env_.members->relay(routed->member, "resources/read", json{{"uri", uri}}, out->subject(), out->tenant(),
                          relayed(false));
      return true;
    }
    // What a rule chose (by header or weight) is not for a shared cache.
    const bool cacheable = !routed;
    vars.clear();
    if (auto* r = cat->find_resource(uri)) {
      if (!sees(r->name))
        not_found();
      if (r->relay) { // an upstream's: answered when it answers (this thread goes on)
        r->relay(relayed(cacheable));
        return true;
      }
      contents = r->read();
    } else if (auto* t = cat->match_template(uri, vars)) {
      if (!sees(t->name))
        not_found();
      if (t->relay) {
        t->relay(uri, relayed(cacheable));
        return true;
      }
      auto found = t->read(uri, vars);
      if (!found)
        not_found();
      contents = std::move(*found);
    } else {
      not_found();
    }
    json result{{"contents", json::array()}};
    for (auto& c : contents)
      result["contents"].push_back(c.to_json());
    reply(std::move(result), cacheable);
  } else if (m == "prompts/get") {
    auto name = required_string(params, "name");
    // The tenant's view applies to the name asked for, a rule may answer it with another prompt.
    if (!sees(name))
      fail(rpc_code::invalid_params, "Unknown prompt: " + name);
    std::optional<route_decision> routed;
    if (auto routes = routes_for(env_, *out); routes && name.size() <= 128) {
      auto here = [&](const std::string& n) {
        auto* p = cat->find_prompt(n);
        return p && (!p->available || p->available());
      };
      if ((routed = choose_route(env_, *routes, "prompts/get", name, *out, here, nullptr, "Prompt")))
        name = routed->tool;
    }
    if (routed && !routed->member.empty()) { // another member answers (its own checks)
      json there{{"name", name}};
      if (auto a = params.find("arguments"); a != params.end())
        there["arguments"] = *a;
      env_.members->relay(routed->member, "prompts/get", there, out->subject(), out->tenant(), relayed(false));
      return true;
    }
    auto* p = cat->find_prompt(name);
    if (!p)
      fail(rpc_code::invalid_params, "Unknown prompt: " + name);
    std::map<std::string, std::string> args;
    if (auto a = params.find("arguments"); a != params.end() && !a->is_null()) {
      if (!a->is_object())
        fail(rpc_code::invalid_params, "\"arguments\" must be an object of strings");
      for (auto& [k, v] : a->items()) {
        if (!v.is_string())
          fail(rpc_code::invalid_params, "prompt argument \"" + k + "\" must be a string");
        args[k] = v.get<std::string>();
      }
    }
    for (auto& a : p->arguments)
      if (a.required && !args.count(a.name))
        fail(rpc_code::invalid_params, "missing required prompt argument \"" + a.name + "\"");
    if (p->relay) { // an upstream's: answered when it answers (this thread goes on)
      p->relay(args, relayed(false));
      return true;
    }
    json result{{"messages", p->get(args)}};
    put_if(result, "description", p->description);
    reply(std::move(result), false);
  } else if (m == "completion/complete") {
    auto ref = params.find("ref");
    auto arg = params.find("argument");
    if (ref == params.end() || !ref->is_object() || arg == params.end() || !arg->is_object())
      fail(rpc_code::invalid_params, "completion/complete needs \"ref\" and \"argument\" objects");
    auto arg_name = required_string(*arg, "name");
    auto value = required_string(*arg, "value");
    auto type = required_string(*ref, "type");
    std::vector<std::string> values;
    if (type == "ref/prompt") {
      auto name = required_string(*ref, "name");
      auto* p = cat->find_prompt(name);
      if (!p || !sees(name))
        fail(rpc_code::invalid_params, "Unknown prompt: " + name);
      for (auto& a : p->arguments)
        if (a.name == arg_name)
          for (auto& c : a.completions)
            if (c.rfind(value, 0) == 0)
              values.push_back(c);
    } else if (type == "ref/resource") {
      required_string(*ref, "uri"); // templates offer no completions yet
    } else {
      fail(rpc_code::invalid_params, "unknown ref type " + type);
    }
    auto total = values.size();
    if (values.size() > 100)
      values.resize(100);
    reply(json{{"completion", {{"values", values}, {"total", total}, {"hasMore", total > 100}}}}, false);
  } else {
    return false;
  }
  return true;
}

} // namespace cafmcp::protocol
