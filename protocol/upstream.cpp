// Upstream MCP servers run as supervised port programs, their tools served under a namespace.
#include "protocol/upstream.hpp"

#include <atomic>
#include <map>
#include <optional>
#include <random>

#include <caf/all.hpp>

#include "base/log.hpp"
#include "base/port_program.hpp"
#include "protocol/json_schema.hpp"
#include "protocol/tool_runner.hpp"
#include "protocol/upstream_client.hpp"
#include "protocol/upstream_http.hpp"
#include "supervision/supervisor.hpp"
#include "supervision/worker.hpp"

namespace cafmcp::protocol {

namespace {

using up_line_atom = caf::atom_constant<caf::atom("up_line")>; // a stdout line of the program
using up_exit_atom = caf::atom_constant<caf::atom("up_exit")>; // the program ended
using up_tick_atom = caf::atom_constant<caf::atom("up_tick")>; // deadlines and cancellations
using up_sub_atom = caf::atom_constant<caf::atom("up_sub")>;   // a client subscribed to one of its resources

/// A tools/call of one of the upstream's tools, for its actor.
struct relayed_call {
  std::string tool; // its name on the upstream server
  nlohmann::json arguments;
  std::shared_ptr<tool_call> call;
};

/// The next round of a call whose upstream asked its client for input:
/// `state` names the upstream call it continues, `responses` the answers.
struct resumed_call {
  nlohmann::json state;
  nlohmann::json responses;
  std::shared_ptr<tool_call> call;
};

/// Another request relayed as it is (prompts/get, resources/read),
/// answered through `reply`; a result without `expect` is the upstream's error.
struct relayed_request {
  std::string method;
  nlohmann::json params;
  std::string expect;
  relay_reply reply;
};

} // namespace

} // namespace cafmcp::protocol

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cafmcp::protocol::relayed_call)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cafmcp::protocol::resumed_call)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cafmcp::protocol::relayed_request)

namespace cafmcp::protocol {

using nlohmann::json;
using config::field;
using config::value_type;

std::vector<field> upstream_config_schema() {
  return {
    {"command", value_type::string_list, json::array(),
     "the server's program and its arguments, run with MCP on its stdin and stdout (e.g. [\"npx\", "
     "\"@modelcontextprotocol/server-everything\"])", {}, {}, {}, {}},
    {"url", value_type::string, "",
     "instead of command: the Streamable HTTP endpoint of an MCP server (http:// or https://)", {}, {}, {}, {}},
    {"headers", value_type::string_list, json::array(),
     "with url: \"Name: value\" sent with every request (e.g. \"Authorization: Bearer …\")", {}, {}, {}, {}},
    {"env", value_type::string_list, json::array(), "\"NAME=value\" added to the program's environment", {}, {}, {}, {}},
    {"cwd", value_type::string, "", "the program's working directory (\"\": the node's)", {}, {}, {}, {}},
    {"start_timeout_ms", value_type::integer, 30000,
     "from start to its first tool list; a server slower than this is restarted", 100, 600000, {}, {}},
    {"call_timeout_ms", value_type::integer, 60000,
     "a relayed call not answered within this fails (and the server is told to cancel it)", 10, 3600000, {}, {}},
    {"max_message_bytes", value_type::integer, 4 * 1024 * 1024,
     "a longer line from the server is dropped (the call it answered then times out)", 1024, 1 << 30, {}, {}},
  };
}

upstream_config parse_upstream(const std::string& name, const json& entry) {
  auto key = "upstreams." + name;
  if (name.empty() || name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") != std::string::npos)
    throw config::config_error(key, "an upstream's name is its tools' namespace: use a-z, 0-9, _ and - only");
  upstream_config cfg;
  cfg.name = name;
  cfg.command = entry.at("command").get<std::vector<std::string>>();
  cfg.url = entry.at("url").get<std::string>();
  cfg.headers = entry.at("headers").get<std::vector<std::string>>();
  if (!cfg.url.empty()) {
    if (!cfg.command.empty())
      throw config::config_error(key, "has both command and url: an upstream is a program or a URL");
    if (auto why = check_upstream_url(cfg.url); !why.empty())
      throw config::config_error(key + ".url", why);
    for (size_t i = 0; i < cfg.headers.size(); ++i) {
      auto colon = cfg.headers[i].find(':');
      if (colon == std::string::npos || colon == 0 || cfg.headers[i].find_first_of("\r\n") != std::string::npos)
        throw config::config_error(key + ".headers[" + std::to_string(i) + "]", "must be \"Name: value\"");
    }
  } else if (cfg.command.empty() || cfg.command[0].empty()) {
    throw config::config_error(key + ".command", "needs the program to run, e.g. [\"npx\", \"@modelcontextprotocol/server-everything\"], or give url");
  }
  cfg.env = entry.at("env").get<std::vector<std::string>>();
  for (size_t i = 0; i < cfg.env.size(); ++i)
    if (cfg.env[i].find('=') == std::string::npos || cfg.env[i][0] == '=')
      throw config::config_error(key + ".env[" + std::to_string(i) + "]",
                                 "must be NAME=value, got \"" + cfg.env[i] + "\"");
  cfg.cwd = entry.at("cwd").get<std::string>();
  cfg.start_timeout = std::chrono::milliseconds{entry.at("start_timeout_ms").get<int64_t>()};
  cfg.call_timeout = std::chrono::milliseconds{entry.at("call_timeout_ms").get<int64_t>()};
  cfg.max_line = entry.at("max_message_bytes").get<size_t>();
  return cfg;
}

void upstream_status::started(int64_t pid) {
  std::lock_guard<std::mutex> guard{mtx_};
  state_ = "starting";
  pid_ = pid;
}

void upstream_status::ready(size_t tools) {
  std::lock_guard<std::mutex> guard{mtx_};
  state_ = "running, " + std::to_string(tools) + " tools";
}

void upstream_status::exited(std::string how) {
  std::lock_guard<std::mutex> guard{mtx_};
  state_ = "down";
  last_exit_ = std::move(how);
  pid_ = 0;
}

std::string upstream_status::describe() const {
  std::lock_guard<std::mutex> guard{mtx_};
  if (state_ == "down")
    return "down (" + last_exit_ + "; the supervisor restarts it)";
  return state_ + (pid_ > 0 ? " (pid " + std::to_string(pid_) + ")" : "");
}

int64_t upstream_status::pid() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return pid_;
}

bool upstream_status::serving() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return state_.rfind("running", 0) == 0;
}

bool upstream_status::subscribe(const std::string& uri) {
  std::lock_guard<std::mutex> guard{mtx_};
  return subscribed_.size() < max_subscriptions && subscribed_.insert(uri).second;
}

bool upstream_status::subscribed(const std::string& uri) const {
  std::lock_guard<std::mutex> guard{mtx_};
  return subscribed_.count(uri) > 0;
}

std::vector<std::string> upstream_status::subscriptions() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return {subscribed_.begin(), subscribed_.end()};
}

std::string upstream_actor_name(const std::string& upstream) {
  return "upstream." + upstream;
}

supervision::child_spec upstream_supervisor(supervision::supervisor_flags flags) {
  flags.how = supervision::strategy::one_for_one;
  return supervision::supervisor_child("upstream_sup", flags, {});
}

namespace {

struct upstream_state {
  upstream_config cfg;
  std::string path;
  std::shared_ptr<catalog_store> store;
  std::shared_ptr<actors::name_table> names;
  std::shared_ptr<upstream_status> status;
  std::unique_ptr<upstream_client> client;
  std::unique_ptr<port_program> port; // a stdio server (after client: destroyed first)
  std::unique_ptr<http_link> http;    // or a Streamable HTTP one
  /// "pid 12" or the URL, for log lines.
  std::string where() const { return port ? "pid " + std::to_string(port->pid()) : cfg.url; }
  std::map<upstream_client::call_key, std::shared_ptr<tool_call>> callers;
  /// Calls whose upstream waits for its input request to be answered (the
  /// id to answer), while their client answers it: the next round resumes them.
  std::map<upstream_client::call_key, nlohmann::json> parked;
  /// This incarnation, in the state a parked call's client echoes: a round
  /// for another incarnation's call (a restart, another member) is refused.
  uint64_t instance = 0;
  /// Relayed requests other than calls, by key: who waits, and what its result must hold.
  std::map<upstream_client::call_key, std::pair<relay_reply, std::string>> requesters;
  std::vector<std::string> prompt_names; // as last merged
  upstream_client::call_key next_key = 1;
  std::vector<caf::response_promise> ready_waiters;
  bool ready = false;
  bool resubscribe = false; // subscribe to what clients subscribed to before this incarnation
  bool ticking = false;
  std::vector<std::string> tool_names; // as last merged
  metrics::counter_series* calls_ok = nullptr;
  metrics::counter_series* calls_failed = nullptr;
  metrics::counter_series* calls_cancelled = nullptr;
  metrics::counter_series* starts = nullptr;

  ~upstream_state() {
    port.reset(); // kills the process and stops its I/O thread: no more lines
    http.reset(); // aborts the transfers in flight
    // Calls still open when the actor ends (a kill, a shutdown) get an
    // answer naming why, not the generic one of a dropped call.
    for (auto& [key, call] : callers)
      call->fail(rpc_code::internal_error, "upstream " + cfg.name + " stopped while the call ran",
                 nlohmann::json{{"upstream", cfg.name}});
    for (auto& [key, waiting] : requesters)
      waiting.first(std::nullopt, rpc_error{rpc_code::internal_error, "upstream " + cfg.name + " stopped while the request ran",
                                    nlohmann::json{{"upstream", cfg.name}}});
  }
};

using upstream_actor = caf::stateful_actor<upstream_state>;

constexpr std::chrono::milliseconds tick_every{50};

/// A message the server wrote (`related`: the request it came with).
void take_line(upstream_actor* self, const std::string& line, std::optional<int64_t> related);

void flush(upstream_actor* self) {
  auto& st = self->state;
  if ((!st.port && !st.http) || !st.client)
    return;
  for (auto& line : st.client->take_outbox())
    if (st.port)
      st.port->send(std::move(line));
    else
      st.http->send(std::move(line));
}

void take_line(upstream_actor* self, const std::string& line, std::optional<int64_t> related) {
  // What a server writes is untrusted: a field of an unexpected type is
  // its error, never this actor's end.
  try {
    auto& st = self->state;
    st.client->on_line(line, std::chrono::steady_clock::now(), related);
    if (st.resubscribe) {
      st.resubscribe = false;
      for (auto& uri : st.status->subscriptions())
        st.client->subscribe(uri);
    }
  } catch (const std::exception& e) {
    log::warning(self->state.path, "upstream " + self->state.cfg.name + " sent a message cafmcp cannot use (" + e.what()
                                     + "): " + line.substr(0, 200));
  }
  flush(self);
}

void arm_tick(upstream_actor* self) {
  if (self->state.ticking)
    return;
  self->state.ticking = true;
  self->delayed_send(self, tick_every, up_tick_atom::value);
}

/// Removes from `c` the entries of one kind whose `name` has upstream
/// `upstream`'s namespace, each by its `key` (a name or a URI).
template <class Def>
void remove_ours(catalog& c, const std::string& upstream, const std::vector<Def>& (catalog::*list)() const,
                 bool (catalog::*remove)(const std::string&), std::string Def::*name, std::string Def::*key) {
  auto prefix = upstream + ".";
  std::vector<std::string> old;
  for (auto& e : (c.*list)())
    if ((e.*name).rfind(prefix, 0) == 0)
      old.push_back(e.*key);
  for (auto& k : old)
    (c.*remove)(k);
}

/// Replaces in the catalog what this upstream served of one kind (entries
/// whose `name` has its namespace) with `defs`, removed by `key` (a name or
/// a URI); how many were added (one that clashes is logged, not served).
template <class Def>
size_t replace_entries(upstream_state& st, const char* kind, std::vector<Def> defs,
                       const std::vector<Def>& (catalog::*list)() const, bool (catalog::*remove)(const std::string&),
                       void (catalog::*add)(Def), std::string Def::*name, std::string Def::*key) {
  size_t added = 0;
  st.store->update([&](catalog& c) {
    remove_ours(c, st.cfg.name, list, remove, name, key);
    for (auto& d : defs) {
      auto what = d.*key;
      try {
        (c.*add)(std::move(d));
        ++added;
      } catch (const std::exception& e) {
        log::warning(st.path, "upstream " + st.cfg.name + ": " + kind + " " + what + " is not served: " + e.what());
      }
    }
  });
  return added;
}

/// Where a catalog entry's relayed requests go: the current incarnation of
/// the upstream's actor, or an error at once while it is down. Copied into
/// the entries, which outlive any incarnation.
struct relay_target {
  std::shared_ptr<actors::name_table> names;
  std::string upstream;
  std::shared_ptr<upstream_status> status;

  void operator()(std::string method, json params, std::string expect, relay_reply done) const {
    auto actor = names->lookup(upstream_actor_name(upstream));
    if (!actor || !status->serving())
      return done(std::nullopt, rpc_error{rpc_code::internal_error, "upstream " + upstream + " is " + status->describe(),
                                          json{{"upstream", upstream}}});
    // Answered exactly once: by the actor, or, if the request is dropped
    // unanswered (the actor ended before or while it held it), when the
    // last copy of this reply goes.
    struct once {
      relay_reply done;
      std::string upstream;
      std::atomic<bool> answered{false};
      void answer(std::optional<json> result, std::optional<rpc_error> error) {
        if (!answered.exchange(true))
          done(std::move(result), std::move(error));
      }
      ~once() {
        answer(std::nullopt, rpc_error{rpc_code::internal_error, "upstream " + upstream + " stopped before it answered",
                                       json{{"upstream", upstream}}});
      }
    };
    auto guard = std::make_shared<once>();
    guard->done = std::move(done);
    guard->upstream = upstream;
    relay_reply reply = [guard](std::optional<json> result, std::optional<rpc_error> error) {
      guard->answer(std::move(result), std::move(error));
    };
    caf::anon_send(actor, relayed_request{std::move(method), std::move(params), std::move(expect), std::move(reply)});
  }
};

/// A client subscribed to `uri` of `upstream`: its actor subscribes now if
/// it runs, and each later incarnation when it is ready.
void subscribe_upstream(const relay_target& to, const std::string& uri) {
  if (!to.status->subscribe(uri))
    return; // subscribed already (or past the bound)
  if (auto actor = to.names->lookup(upstream_actor_name(to.upstream)))
    caf::anon_send(actor, up_sub_atom::value, uri);
}

relay_target target_of(const upstream_state& st) {
  return {st.names, st.cfg.name, st.status};
}

/// The catalog entry of one upstream tool: relayed to the current
/// incarnation of the upstream's actor.
std::optional<tool_def> relay_def(const upstream_state& st, const json& t) {
  auto remote = str_of(t, "name");
  if (remote.empty())
    return std::nullopt;
  tool_def def{st.cfg.name + "." + remote, str_of(t, "title"), str_of(t, "description"),
               json{{"type", "object"}}, nullptr, nullptr, nullptr};
  if (auto s = t.find("inputSchema"); s != t.end() && s->is_object() && check_input_schema(*s).empty())
    def.input_schema = *s;
  if (auto s = t.find("outputSchema"); s != t.end() && s->is_object())
    def.output_schema = *s;
  if (auto a = t.find("annotations"); a != t.end() && a->is_object())
    def.annotations = *a;
  def.handler = [names = st.names, upstream = st.cfg.name, remote, status = st.status](const json& arguments,
                                                                                        std::shared_ptr<tool_call> call) {
    auto actor = names->lookup(upstream_actor_name(upstream));
    if (!actor) {
      call->fail(rpc_code::internal_error, "upstream " + upstream + " is " + status->describe(),
                 json{{"upstream", upstream}});
      return;
    }
    // A call answering its upstream's input request continues that call.
    if (auto& state = call->request_state(); state.is_object() && state.value("upstream", "") == upstream)
      caf::anon_send(actor, resumed_call{state, call->input_responses(), std::move(call)});
    else
      caf::anon_send(actor, relayed_call{remote, arguments, std::move(call)});
  };
  def.available = [status = st.status] { return status->serving(); };
  return def;
}

void merge_tools(upstream_actor* self, std::vector<json> tools) {
  auto& st = self->state;
  std::vector<tool_def> defs;
  std::vector<std::string> names;
  for (auto& t : tools)
    if (auto d = relay_def(st, t)) {
      names.push_back(d->name);
      defs.push_back(std::move(*d));
    }
  auto added = replace_entries(st, "tool", std::move(defs), &catalog::tools, &catalog::remove_tool, &catalog::add_tool,
                               &tool_def::name, &tool_def::name);
  if (!st.ready) {
    st.ready = true;
    st.status->ready(added);
    auto& result = st.client->server_info();
    auto info = result.is_object() && result.contains("serverInfo") ? result["serverInfo"] : json::object();
    log::info(st.path, "upstream " + st.cfg.name + " ready (" + st.where() + ", "
                         + str_of(info, "name", "?") + " " + str_of(info, "version", "?")
                         + ", " + std::to_string(added) + " tools)");
    st.resubscribe = true; // once the client is ready (after this listing)
    for (auto& rp : st.ready_waiters)
      rp.deliver(true);
    st.ready_waiters.clear();
  } else {
    st.status->ready(added);
    if (names != st.tool_names)
      log::info(st.path, "upstream " + st.cfg.name + " changed its tools: " + std::to_string(added) + " now");
  }
  st.tool_names = std::move(names);
}

/// The upstream's prompts in the catalog as NAME.prompt, each relayed as
/// prompts/get to the current incarnation of the upstream's actor.
void merge_prompts(upstream_actor* self, std::vector<json> prompts) {
  auto& st = self->state;
  std::vector<prompt_def> defs;
  std::vector<std::string> names;
  for (auto& p : prompts) {
    auto remote = str_of(p, "name");
    if (remote.empty())
      continue;
    prompt_def def{st.cfg.name + "." + remote, str_of(p, "title"), str_of(p, "description"), {}, nullptr, nullptr};
    if (auto args = p.find("arguments"); args != p.end() && args->is_array())
      for (auto& a : *args)
        if (auto n = str_of(a, "name"); !n.empty())
          def.arguments.push_back(
            {n, str_of(a, "description"), a.is_object() && a.value("required", json(false)) == json(true), {}});
    def.relay = [to = target_of(st), remote](const std::map<std::string, std::string>& args, relay_reply done) {
      to("prompts/get", json{{"name", remote}, {"arguments", args}}, "messages", std::move(done));
    };
    def.available = [status = st.status] { return status->serving(); };
    names.push_back(def.name);
    defs.push_back(std::move(def));
  }
  auto added = replace_entries(st, "prompt", std::move(defs), &catalog::prompts, &catalog::remove_prompt,
                               &catalog::add_prompt, &prompt_def::name, &prompt_def::name);
  if (names != st.prompt_names)
    log::info(st.path, "upstream " + st.cfg.name + " serves " + std::to_string(added) + " prompts");
  st.prompt_names = std::move(names);
}

/// The upstream's resources in the catalog under their own URIs (their
/// names namespaced, NAME.name), each read relayed as resources/read.
void merge_resources(upstream_actor* self, std::vector<json> resources) {
  auto& st = self->state;
  std::vector<resource_def> defs;
  auto cat = st.store->snapshot();
  for (auto& r : resources) {
    auto uri = str_of(r, "uri");
    if (uri.empty())
      continue;
    // A URI one of the node's (or another upstream's) templates serves stays theirs.
    std::map<std::string, std::string> vars;
    if (auto* t = cat->match_template(uri, vars); t && t->name.rfind(st.cfg.name + ".", 0) != 0) {
      log::warning(st.path, "upstream " + st.cfg.name + ": resource " + uri + " is not served: template "
                              + t->uri_template + " (" + t->name + ") serves it");
      continue;
    }
    resource_def def{uri, st.cfg.name + "." + str_of(r, "name", uri), str_of(r, "title"), str_of(r, "description"),
                     str_of(r, "mimeType"), nullptr};
    def.subscribe = [to = target_of(st), uri] { subscribe_upstream(to, uri); };
    def.relay = [to = target_of(st), uri](relay_reply done) {
      to("resources/read", json{{"uri", uri}}, "contents", std::move(done));
    };
    defs.push_back(std::move(def));
  }
  auto added = replace_entries(st, "resource", std::move(defs), &catalog::resources, &catalog::remove_resource,
                               &catalog::add_resource, &resource_def::name, &resource_def::uri);
  log::info(st.path, "upstream " + st.cfg.name + " serves " + std::to_string(added) + " resources");
}

/// Its resource templates the same way: a URI that matches one is read from the upstream.
void merge_templates(upstream_actor* self, std::vector<json> templates) {
  auto& st = self->state;
  std::vector<resource_template_def> defs;
  for (auto& t : templates) {
    auto uri_template = str_of(t, "uriTemplate");
    if (uri_template.empty())
      continue;
    resource_template_def def{uri_template, st.cfg.name + "." + str_of(t, "name", uri_template), str_of(t, "title"),
                              str_of(t, "description"), str_of(t, "mimeType"), nullptr};
    def.subscribe = [to = target_of(st)](const std::string& uri) { subscribe_upstream(to, uri); };
    def.relay = [to = target_of(st)](const std::string& uri, relay_reply done) {
      to("resources/read", json{{"uri", uri}}, "contents", std::move(done));
    };
    defs.push_back(std::move(def));
  }
  auto added = replace_entries(st, "resource template", std::move(defs), &catalog::resource_templates,
                               &catalog::remove_resource_template, &catalog::add_resource_template,
                               &resource_template_def::name, &resource_template_def::uri_template);
  log::info(st.path, "upstream " + st.cfg.name + " serves " + std::to_string(added) + " resource templates");
}

tool_result result_of(const json& r) {
  tool_result out;
  if (auto c = r.find("content"); c != r.end() && c->is_array())
    out.content = *c;
  if (auto s = r.find("structuredContent"); s != r.end())
    out.structured = *s;
  auto e = r.find("isError");
  out.is_error = e != r.end() && e->is_boolean() && e->get<bool>();
  return out;
}

caf::behavior upstream_fun(upstream_actor* self, upstream_config cfg, std::shared_ptr<catalog_store> store,
                           std::shared_ptr<actors::name_table> names, std::shared_ptr<upstream_status> status,
                           std::shared_ptr<metrics::metrics_registry> metrics, std::string path) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.path = std::move(path);
  st.store = std::move(store);
  st.names = std::move(names);
  st.status = std::move(status);
  const char* help = "Calls relayed to upstream MCP servers, by upstream and outcome";
  st.calls_ok = &metrics->counter("cafmcp_upstream_calls_total", help, {{"upstream", st.cfg.name}, {"outcome", "ok"}});
  st.calls_failed =
    &metrics->counter("cafmcp_upstream_calls_total", help, {{"upstream", st.cfg.name}, {"outcome", "error"}});
  st.calls_cancelled =
    &metrics->counter("cafmcp_upstream_calls_total", help, {{"upstream", st.cfg.name}, {"outcome", "cancelled"}});
  st.starts = &metrics->counter("cafmcp_upstream_starts_total", "Processes started per upstream MCP server",
                                {{"upstream", st.cfg.name}});
  upstream_client::events ev;
  ev.on_tools = [self](std::vector<json> tools) { merge_tools(self, std::move(tools)); };
  ev.on_prompts = [self](std::vector<json> prompts) { merge_prompts(self, std::move(prompts)); };
  ev.on_resources = [self](std::vector<json> resources) { merge_resources(self, std::move(resources)); };
  ev.on_templates = [self](std::vector<json> templates) { merge_templates(self, std::move(templates)); };
  ev.on_answer = [self](upstream_client::call_key key, std::optional<json> result, std::optional<rpc_error> error) {
    auto& st = self->state;
    if (auto r = st.requesters.find(key); r != st.requesters.end()) {
      auto [reply, expect] = std::move(r->second);
      st.requesters.erase(r);
      if (!result)
        return reply(std::nullopt, std::move(error));
      if (!(result->contains(expect) && (*result)[expect].is_array()))
        return reply(std::nullopt, rpc_error{rpc_code::internal_error,
                                             "upstream " + st.cfg.name + " answered without " + expect,
                                             json{{"upstream", st.cfg.name}}});
      // Only what the method's result holds goes on (not the upstream's _meta or resultType).
      json checked{{expect, std::move((*result)[expect])}};
      if (auto d = str_of(*result, "description"); !d.empty())
        checked["description"] = d;
      reply(std::move(checked), std::nullopt);
      return;
    }
    st.parked.erase(key); // timed out while its client was asked
    auto i = st.callers.find(key);
    if (i == st.callers.end())
      return;
    auto call = std::move(i->second);
    st.callers.erase(i);
    if (result) {
      st.calls_ok->inc();
      call->reply(result_of(*result));
    } else {
      st.calls_failed->inc();
      call->fail(error->code, error->message, error->data);
    }
  };
  ev.on_progress = [self](upstream_client::call_key key, const json& p) {
    auto i = self->state.callers.find(key);
    if (i == self->state.callers.end() || !p.contains("progress") || !p["progress"].is_number())
      return;
    std::optional<double> total;
    if (p.contains("total") && p["total"].is_number())
      total = p["total"].get<double>();
    i->second->progress(p["progress"].get<double>(), total, str_of(p, "message"));
  };
  ev.on_input_request = [self](upstream_client::call_key key, json id, const std::string& method, const json& params) {
    auto& st = self->state;
    auto refuse = [&](int code, std::string why) { st.client->answer_server(id, std::nullopt, rpc_error{code, std::move(why), nullptr}); };
    if (st.parked.count(key) > 0)
      return refuse(rpc_code::invalid_request, "the call this input is for waits for its client's answer to another request");
    auto i = st.callers.find(key);
    if (i == st.callers.end() || i->second->cancelled())
      return refuse(rpc_code::invalid_request, "the call this input is for was cancelled");
    auto capability = input_capability(method);
    if (!i->second->client_supports(capability))
      return refuse(rpc_code::method_not_found, "the client of this call did not declare " + capability);
    // The round ends here; the client's next round (its answer) resumes the
    // upstream call, which stays open meanwhile (bounded by call_timeout).
    auto call = std::move(i->second);
    st.callers.erase(i);
    // The state names this very request: a stale round (an answer to an
    // earlier question of the same call) never answers a later one.
    json state{{"upstream", st.cfg.name}, {"instance", st.instance}, {"key", key}, {"request", id}};
    st.parked[key] = std::move(id);
    call->request_input(json{{"input", {{"method", method}, {"params", params}}}}, std::move(state));
  };
  ev.on_call_log = [self](upstream_client::call_key key, const json& params) {
    auto i = self->state.callers.find(key);
    auto data = params.is_object() && params.contains("data") ? params["data"] : json{};
    if (i != self->state.callers.end())
      i->second->log(str_of(params, "level", "info"), data); // sent if its client asked for that level
    else // its call ended, or waits for its client's input: the node's log
      log::info(self->state.path, "upstream " + self->state.cfg.name + " logged: " + dump(data));
  };
  ev.on_resource_updated = [self](const std::string& uri) {
    // Only a URI subscribed through this upstream: it may not announce others'.
    if (self->state.status->subscribed(uri))
      self->state.store->resource_updated(uri);
  };
  ev.on_log = [self](const json& params) {
    auto data = params.is_object() && params.contains("data") ? params["data"] : json{};
    log::info(self->state.path, "upstream " + self->state.cfg.name + " logged: " + dump(data));
  };
  ev.on_protocol_error = [self](const std::string& what) {
    log::warning(self->state.path, "upstream " + self->state.cfg.name + ": " + what);
  };
  std::random_device rd;
  st.instance = (uint64_t{rd()} << 32) | rd();
  st.client = std::make_unique<upstream_client>(st.cfg.name, std::move(ev));
  st.client->attribute_unrelated(st.cfg.url.empty()); // stdio only: HTTP says whose it is

  port_options opts{st.cfg.command, st.cfg.env, st.cfg.cwd, st.cfg.max_line};
  port_callbacks cbs;
  auto me = caf::actor_cast<caf::actor>(self);
  cbs.on_line = [me](std::string line) { caf::anon_send(me, up_line_atom::value, std::move(line)); };
  cbs.on_stderr = [p = st.path, n = st.cfg.name](std::string line) { log::info(p, n + " stderr: " + line); };
  cbs.on_overlong = [p = st.path, n = st.cfg.name, max = st.cfg.max_line](size_t bytes) {
    log::warning(p, "upstream " + n + " wrote a message of " + std::to_string(bytes)
                      + " bytes or more; dropped (upstreams." + n + ".max_message_bytes is " + std::to_string(max) + ")");
  };
  cbs.on_exit = [me](std::string how) { caf::anon_send(me, up_exit_atom::value, std::move(how)); };
  try {
    if (st.cfg.url.empty()) {
      st.port = std::make_unique<port_program>(std::move(opts), std::move(cbs));
    } else {
      http_link_options h{st.cfg.url, st.cfg.headers, upstream_client::offered_version, st.cfg.call_timeout,
                          st.cfg.max_line, 32, {}};
      // What comes on a request's own stream says whose it is (input requests, logs).
      h.on_request_line = [me](std::string line, int64_t id) {
        caf::anon_send(me, up_line_atom::value, std::move(line), id);
      };
      st.http = std::make_unique<http_link>(std::move(h), std::move(cbs));
    }
  } catch (const std::exception& e) {
    log::error(st.path, "upstream " + st.cfg.name + ": " + e.what());
    st.status->exited(e.what());
    self->quit(caf::make_error(caf::sec::runtime_error, std::string{e.what()}));
    return {};
  }
  st.starts->inc();
  st.status->started(st.port ? st.port->pid() : 0);
  log::info(st.path, "upstream " + st.cfg.name + " started (" + st.where() + ")");
  st.client->start(std::chrono::steady_clock::now() + st.cfg.start_timeout);
  flush(self);
  arm_tick(self);
  return {
    [self](up_line_atom, std::string& line) { take_line(self, line, std::nullopt); },
    [self](up_sub_atom, std::string& uri) {
      if (self->state.ready && self->state.client->subscribe(uri)) // else: when it is ready
        flush(self);
    },
    [self](up_line_atom, std::string& line, int64_t related) { take_line(self, line, related); },
    [self](up_exit_atom, std::string& how) {
      auto& st = self->state;
      log::warning(st.path, "upstream " + st.cfg.name + " (" + st.where() + ") " + how);
      st.status->exited(how);
      st.client->fail_all(std::string{st.port ? "exited" : "went down"} + " while the call ran (" + how + ")");
      for (auto& rp : st.ready_waiters)
        rp.deliver(caf::make_error(caf::sec::runtime_error, "upstream " + st.cfg.name + " " + how));
      st.ready_waiters.clear();
      self->quit(caf::make_error(caf::sec::runtime_error, "upstream " + st.cfg.name + " " + how));
    },
    [self](up_tick_atom) {
      auto& st = self->state;
      st.ticking = false;
      // Cancelled by the client: tell the server, drop the caller.
      for (auto i = st.callers.begin(); i != st.callers.end();) {
        if (i->second->cancelled()) {
          st.client->cancel(i->first, "cancelled by the client", std::chrono::steady_clock::now());
          st.calls_cancelled->inc();
          i = st.callers.erase(i);
        } else {
          ++i;
        }
      }
      if (!st.client->expire(std::chrono::steady_clock::now())) {
        auto why = "did not list its tools within " + std::to_string(st.cfg.start_timeout.count())
                   + " ms of its start (upstreams." + st.cfg.name + ".start_timeout_ms)";
        log::warning(st.path, "upstream " + st.cfg.name + " " + why);
        st.status->exited(why);
        st.client->fail_all(why);
        for (auto& rp : st.ready_waiters)
          rp.deliver(caf::make_error(caf::sec::runtime_error, "upstream " + st.cfg.name + " " + why));
        st.ready_waiters.clear();
        self->quit(caf::make_error(caf::sec::runtime_error, "upstream " + st.cfg.name + " " + why));
        return;
      }
      flush(self);
      if (!st.ready || st.client->has_open_calls())
        arm_tick(self);
    },
    [self](relayed_call& rc) {
      auto& st = self->state;
      auto key = st.next_key++;
      auto& meta = rc.call->meta();
      auto progress = meta.is_object() && meta.contains("progressToken");
      st.callers.emplace(key, std::move(rc.call));
      st.client->call(key, rc.tool, std::move(rc.arguments), progress,
                      std::chrono::steady_clock::now() + st.cfg.call_timeout);
      flush(self);
      arm_tick(self);
    },
    [self](resumed_call& rc) {
      auto& st = self->state;
      auto key = rc.state.value("key", upstream_client::call_key{0});
      auto p = st.parked.find(key);
      if (rc.state.value("instance", uint64_t{0}) != st.instance || p == st.parked.end()
          || rc.state.value("request", json{}) != p->second) {
        rc.call->fail(rpc_code::invalid_params,
                      "upstream " + st.cfg.name + " no longer waits for this answer (its call ended - answered, "
                        "timed out or the upstream restarted - or another member ran it): call the tool again",
                      json{{"upstream", st.cfg.name}});
        return;
      }
      auto answer = rc.responses.find("input");
      if (answer == rc.responses.end() || !answer->is_object())
        st.client->answer_server(p->second, std::nullopt,
                                 rpc_error{rpc_code::invalid_request,
                                           "the client's answer is missing or not an object (inputResponses.input)",
                                           nullptr});
      else
        st.client->answer_server(p->second, *answer, std::nullopt);
      st.parked.erase(p);
      st.callers.emplace(key, std::move(rc.call));
      flush(self);
      arm_tick(self);
    },
    [self](relayed_request& rr) {
      auto& st = self->state;
      auto key = st.next_key++;
      st.requesters.emplace(key, std::make_pair(std::move(rr.reply), std::move(rr.expect)));
      st.client->request(key, std::move(rr.method), std::move(rr.params), false,
                         std::chrono::steady_clock::now() + st.cfg.call_timeout);
      flush(self);
      arm_tick(self);
    },
    [self](upstream_ready_atom) -> caf::result<bool> {
      auto& st = self->state;
      if (st.ready)
        return true;
      auto rp = self->make_response_promise<bool>();
      st.ready_waiters.push_back(rp);
      return rp;
    },
  };
}

} // namespace

void remove_upstream_entries(catalog_store& store, const std::string& name) {
  store.update([&](catalog& c) {
    remove_ours(c, name, &catalog::tools, &catalog::remove_tool, &tool_def::name, &tool_def::name);
    remove_ours(c, name, &catalog::prompts, &catalog::remove_prompt, &prompt_def::name, &prompt_def::name);
    remove_ours(c, name, &catalog::resources, &catalog::remove_resource, &resource_def::name, &resource_def::uri);
    remove_ours(c, name, &catalog::resource_templates, &catalog::remove_resource_template,
                &resource_template_def::name, &resource_template_def::uri_template);
  });
}

supervision::child_spec upstream_spec(upstream_config cfg, std::shared_ptr<catalog_store> store,
                                      std::shared_ptr<actors::name_table> names,
                                      std::shared_ptr<metrics::metrics_registry> metrics,
                                      supervision::backoff_policy backoff) {
  auto id = cfg.name;
  auto status = std::make_shared<upstream_status>();
  auto spec = supervision::worker_child(id, upstream_fun, cfg, store, names, status, metrics);
  auto start = spec.start;
  spec.start = [start, names, id](const supervision::start_context& ctx) -> caf::expected<caf::actor> {
    auto h = start(ctx);
    if (h && *h)
      names->assign(upstream_actor_name(id), *h);
    return h;
  };
  spec.backoff = backoff;
  spec.optional = true; // the node serves its own tools without it
  // Its process is killed (SIGKILL) when the actor ends; nothing to drain.
  spec.shutdown = supervision::shutdown_spec::after(std::chrono::milliseconds{2000});
  return spec;
}

} // namespace cafmcp::protocol
