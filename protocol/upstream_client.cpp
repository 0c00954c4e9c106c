// The MCP client side of a connection to an upstream server: lines in, lines out.
#include "protocol/upstream_client.hpp"

#include <algorithm>

namespace cafmcp::protocol {

using nlohmann::json;

std::string str_of(const json& j, const char* key, std::string def) {
  if (!j.is_object())
    return def;
  auto i = j.find(key);
  return i != j.end() && i->is_string() ? i->get<std::string>() : def;
}

upstream_client::upstream_client(std::string name, events ev) : name_(std::move(name)), ev_(std::move(ev)) {
}

int64_t upstream_client::send_request(std::string method, json params) {
  auto id = next_id_++;
  outbox_.push_back(dump(make_request(id, std::move(method), std::move(params))));
  return id;
}

void upstream_client::start(clock::time_point deadline) {
  handshake_deadline_ = deadline;
  phase_ = phase::initializing;
  // What cafmcp can relay to the client of a call, offered so that servers use it.
  auto caps = ev_.on_input_request ? json{{"elicitation", json::object()}, {"sampling", json::object()}} : json::object();
  init_id_ = send_request("initialize", json{{"protocolVersion", offered_version},
                                             {"capabilities", std::move(caps)},
                                             {"clientInfo", {{"name", "cafmcp"}, {"version", "1"}}}});
}

void upstream_client::list(listing& l, const std::string& cursor) {
  json params = json::object();
  if (!cursor.empty())
    params["cursor"] = cursor;
  if (cursor.empty()) {
    l.got.clear();
    l.pages = 0;
  }
  l.id = send_request(l.method, std::move(params));
}

void upstream_client::become_ready() {
  phase_ = phase::ready;
  auto waiting = std::move(waiting_);
  waiting_.clear();
  for (auto& c : waiting)
    send_call(std::move(c));
}

void upstream_client::send_call(waiting_call c) {
  auto id = next_id_; // the token is the id: unique per session
  std::string token;
  if (c.progress) {
    token = name_ + "-" + std::to_string(id);
    c.params["_meta"] = json{{"progressToken", token}};
  }
  bool tool = c.method == "tools/call";
  send_request(std::move(c.method), std::move(c.params));
  calls_[id] = open_call{c.key, c.deadline, std::move(token), tool};
}

void upstream_client::call(call_key key, const std::string& tool, json arguments, bool progress,
                           clock::time_point deadline) {
  request(key, "tools/call", json{{"name", tool}, {"arguments", std::move(arguments)}}, progress, deadline);
}

void upstream_client::request(call_key key, std::string method, json params, bool progress,
                              clock::time_point deadline) {
  waiting_call c{key, std::move(method), std::move(params), progress, deadline};
  if (phase_ == phase::ready)
    send_call(std::move(c));
  else
    waiting_.push_back(std::move(c));
}

bool upstream_client::subscribe(const std::string& uri) {
  if (phase_ != phase::ready)
    return false;
  // What the server declared is untrusted: anything but "subscribe": true is no.
  auto caps = init_result_.find("capabilities");
  if (caps == init_result_.end() || !caps->is_object())
    return false;
  auto resources = caps->find("resources");
  if (resources == caps->end() || !resources->is_object())
    return false;
  auto offered = resources->find("subscribe");
  if (offered == resources->end() || !offered->is_boolean() || !offered->get<bool>())
    return false;
  subscribing_.insert(send_request("resources/subscribe", json{{"uri", uri}}));
  return true;
}

void upstream_client::answer_server(const json& id, std::optional<json> result, std::optional<rpc_error> error) {
  if (result)
    outbox_.push_back(dump(make_result(id, std::move(*result))));
  else
    outbox_.push_back(dump(make_error(id, error.value_or(rpc_error{rpc_code::internal_error, "no answer", nullptr}))));
}

void upstream_client::cancel(call_key key, const std::string& reason, clock::time_point now) {
  auto w = std::find_if(waiting_.begin(), waiting_.end(), [&](const waiting_call& c) { return c.key == key; });
  if (w != waiting_.end()) {
    waiting_.erase(w);
    return;
  }
  for (auto i = calls_.begin(); i != calls_.end(); ++i)
    if (i->second.key == key) {
      outbox_.push_back(dump(make_notification("notifications/cancelled",
                                               json{{"requestId", i->first}, {"reason", reason}})));
      ended_[i->first] = now + ended_grace;
      calls_.erase(i);
      return;
    }
}

bool upstream_client::expire(clock::time_point now) {
  auto timed_out = [&](call_key key) {
    if (ev_.on_answer)
      ev_.on_answer(key, std::nullopt,
                    rpc_error{rpc_code::internal_error, "upstream " + name_ + " did not answer in time",
                              json{{"upstream", name_}}});
  };
  for (auto i = calls_.begin(); i != calls_.end();) {
    if (i->second.deadline <= now) {
      // The server may still be working on it: tell it to stop.
      outbox_.push_back(dump(make_notification("notifications/cancelled",
                                               json{{"requestId", i->first}, {"reason", "timed out"}})));
      auto key = i->second.key;
      ended_[i->first] = now + ended_grace;
      i = calls_.erase(i);
      timed_out(key);
    } else {
      ++i;
    }
  }
  for (auto i = waiting_.begin(); i != waiting_.end();) {
    if (i->deadline <= now) {
      auto key = i->key;
      i = waiting_.erase(i);
      timed_out(key);
    } else {
      ++i;
    }
  }
  return phase_ == phase::ready || now < handshake_deadline_;
}

void upstream_client::fail_all(const std::string& why) {
  std::vector<call_key> keys;
  for (auto& [id, c] : calls_)
    keys.push_back(c.key);
  for (auto& c : waiting_)
    keys.push_back(c.key);
  calls_.clear();
  waiting_.clear();
  for (auto key : keys)
    if (ev_.on_answer)
      ev_.on_answer(key, std::nullopt,
                    rpc_error{rpc_code::internal_error, "upstream " + name_ + " " + why, json{{"upstream", name_}}});
}

std::vector<std::string> upstream_client::take_outbox() {
  std::vector<std::string> out;
  out.swap(outbox_);
  return out;
}

void upstream_client::on_line(const std::string& line, clock::time_point now, std::optional<int64_t> related) {
  if (line.find_first_not_of(" \t\r") == std::string::npos)
    return;
  for (auto i = ended_.begin(); i != ended_.end();)
    i = i->second <= now ? ended_.erase(i) : std::next(i);
  json msg;
  if (auto err = parse(line, msg); err || !msg.is_object()) {
    if (ev_.on_protocol_error)
      ev_.on_protocol_error("a line that is not a JSON-RPC message: " + line.substr(0, 200));
    return;
  }
  if (msg.contains("method"))
    on_server_message(msg, related);
  else if (msg.contains("id"))
    on_response(msg);
  else if (ev_.on_protocol_error)
    ev_.on_protocol_error("a message with neither method nor id: " + line.substr(0, 200));
}

void upstream_client::on_response(const json& msg) {
  auto& idv = msg["id"];
  if (!idv.is_number_integer()) {
    if (ev_.on_protocol_error)
      ev_.on_protocol_error("a response to an id cafmcp never sent: " + dump(idv));
    return;
  }
  auto id = idv.get<int64_t>();
  if (ended_.erase(id) > 0)
    return; // the late answer of a call that ended here: the server is done with it
  if (subscribing_.erase(id) > 0) {
    auto e = msg.find("error");
    if (e != msg.end() && ev_.on_protocol_error)
      ev_.on_protocol_error("resources/subscribe refused: " + str_of(*e, "message", "an error"));
    return;
  }
  auto error = msg.find("error");
  auto failed = error != msg.end() && error->is_object();
  auto reason = [&] { return failed ? str_of(*error, "message", "an error") : std::string{}; };
  if (id == init_id_ && phase_ == phase::initializing) {
    auto result = msg.find("result");
    if (failed || result == msg.end() || !result->is_object()) {
      // A server that refuses to start a session is treated as one that
      // never answered: the handshake deadline ends it.
      if (ev_.on_protocol_error)
        ev_.on_protocol_error("initialize failed: " + (failed ? reason() : std::string{"no result"}));
      return;
    }
    init_result_ = *result;
    outbox_.push_back(dump(make_notification("notifications/initialized", json::object())));
    phase_ = phase::listing;
    list(tools_, "");
    auto caps = init_result_.find("capabilities");
    auto has = [&](const char* what) { return caps != init_result_.end() && caps->is_object() && caps->contains(what); };
    // A kind it does not declare is empty (what an earlier run of it served goes).
    if (has("prompts"))
      list(prompts_, "");
    else if (ev_.on_prompts)
      ev_.on_prompts({});
    if (has("resources")) {
      list(resources_, "");
      list(templates_, "");
    } else {
      if (ev_.on_resources)
        ev_.on_resources({});
      if (ev_.on_templates)
        ev_.on_templates({});
    }
    return;
  }
  if (id != 0 && id == tools_.id) {
    on_page(tools_, msg, [this](std::vector<json> tools) {
      if (ev_.on_tools)
        ev_.on_tools(std::move(tools));
      if (phase_ == phase::listing)
        become_ready();
    });
    return;
  }
  for (auto [l, done] : {std::pair<listing*, decltype(ev_.on_prompts)*>{&prompts_, &ev_.on_prompts},
                         {&resources_, &ev_.on_resources},
                         {&templates_, &ev_.on_templates}})
    if (id != 0 && id == l->id) {
      on_page(*l, msg, [done](std::vector<json> items) {
        if (*done)
          (*done)(std::move(items));
      });
      return;
    }
  auto i = calls_.find(id);
  if (i == calls_.end())
    return; // cancelled or timed out: its answer is no longer wanted
  auto key = i->second.key;
  calls_.erase(i);
  if (!ev_.on_answer)
    return;
  if (failed) {
    auto code = error->find("code");
    ev_.on_answer(key, std::nullopt,
                  rpc_error{code != error->end() && code->is_number_integer() ? code->get<int>() : rpc_code::internal_error,
                            "upstream " + name_ + ": " + reason(), error->contains("data") ? (*error)["data"] : json{}});
    return;
  }
  auto result = msg.find("result");
  if (result == msg.end() || !result->is_object()) {
    ev_.on_answer(key, std::nullopt,
                  rpc_error{rpc_code::internal_error, "upstream " + name_ + " answered without a result",
                            json{{"upstream", name_}}});
    return;
  }
  ev_.on_answer(key, *result, std::nullopt);
}

void upstream_client::on_page(listing& l, const json& msg, const std::function<void(std::vector<json>)>& done) {
  l.id = 0;
  auto error = msg.find("error");
  auto result = msg.find("result");
  if ((error != msg.end() && error->is_object()) || result == msg.end() || !result->is_object()) {
    // What is served so far stays: a listing that failed says nothing
    // about what went away. (A first tools listing that failed leaves the
    // handshake undone: its deadline ends the session.)
    if (ev_.on_protocol_error)
      ev_.on_protocol_error(std::string{l.method} + " failed: "
                            + (error != msg.end() && error->is_object() ? str_of(*error, "message", "an error")
                                                                        : std::string{"no result"}));
    l.got.clear();
    if (l.again) { // it changed meanwhile: try again
      l.again = false;
      list(l, "");
    }
    return;
  }
  if (auto items = result->find(l.field); items != result->end() && items->is_array())
    for (auto& x : *items)
      l.got.push_back(x);
  if (auto next = str_of(*result, "nextCursor"); !next.empty()) {
    if (++l.pages >= max_pages) { // a cursor that never ends: keep what came
      if (ev_.on_protocol_error)
        ev_.on_protocol_error(std::string{l.method} + " went on past " + std::to_string(max_pages)
                              + " pages: the rest is not served");
    } else {
      list(l, next);
      return;
    }
  }
  auto got = std::move(l.got);
  l.got.clear();
  if (l.again) {
    l.again = false;
    list(l, "");
  }
  done(std::move(got));
}

const upstream_client::open_call* upstream_client::sole_call() const {
  // Nothing says whose it is: every request counts (a prompts/get may ask
  // too), and so does a call that ended here but may still run there.
  if (attribute_unrelated_ && calls_.size() == 1 && ended_.empty() && calls_.begin()->second.tool)
    return &calls_.begin()->second;
  return nullptr;
}

void upstream_client::on_input_request(const json& id, const std::string& method, const json& params,
                                       std::optional<int64_t> related) {
  auto refuse = [&](std::string why) {
    answer_server(id, std::nullopt, rpc_error{rpc_code::invalid_request, std::move(why), nullptr});
  };
  if (related) { // it came with a request: it is that request's
    auto c = calls_.find(*related);
    if (c == calls_.end() || !c->second.tool)
      return refuse("cafmcp relays " + method + " only for a tools/call that is still open");
    return ev_.on_input_request(c->second.key, id, method, params);
  }
  if (!attribute_unrelated_)
    return refuse("cafmcp relays " + method + " only on the response stream of the tools/call it belongs to; upstream "
                  + name_ + " sent it on a stream of no request");
  if (auto* c = sole_call())
    return ev_.on_input_request(c->key, id, method, params);
  refuse("cafmcp relays " + method + " to the client of a call only while that call is the only request open at upstream "
         + name_ + " (open: " + std::to_string(calls_.size()) + ", ended in the last "
         + std::to_string(ended_grace.count()) + " s: " + std::to_string(ended_.size())
         + "): it cannot tell whose this is");
}

void upstream_client::on_server_message(const json& msg, std::optional<int64_t> related) {
  auto method = str_of(msg, "method");
  auto params = msg.contains("params") ? msg["params"] : json::object();
  if (msg.contains("id")) {
    // A request from the server. ping is answered; an input request goes
    // to the client of its call (on_input_request: never a guess that could
    // hand one client's question to another); the rest (roots/list) is refused.
    auto& id = msg["id"];
    if (method == "ping")
      return outbox_.push_back(dump(make_result(id, json::object())));
    if ((method == "elicitation/create" || method == "sampling/createMessage") && ev_.on_input_request)
      return on_input_request(id, method, params, related);
    return answer_server(
      id, std::nullopt, rpc_error{rpc_code::method_not_found, "cafmcp does not relay " + method + " to its clients", {}});
  }
  if (method == "notifications/progress" && params.is_object()) {
    auto token = params.find("progressToken");
    if (token == params.end() || !token->is_string())
      return;
    for (auto& [id, c] : calls_)
      if (!c.progress_token.empty() && c.progress_token == token->get<std::string>()) {
        auto p = params;
        p.erase("progressToken");
        if (ev_.on_progress)
          ev_.on_progress(c.key, p);
        return;
      }
    return;
  }
  if (method == "notifications/message") {
    // The call it came with (HTTP), else the only one open (stdio), as for input requests.
    const open_call* c = nullptr;
    if (related) {
      auto i = calls_.find(*related);
      c = i != calls_.end() && i->second.tool ? &i->second : nullptr;
    } else {
      c = sole_call();
    }
    if (c && ev_.on_call_log)
      ev_.on_call_log(c->key, params);
    else if (ev_.on_log)
      ev_.on_log(params);
    return;
  }
  if (method == "notifications/resources/updated") {
    if (auto uri = str_of(params, "uri"); !uri.empty() && ev_.on_resource_updated)
      ev_.on_resource_updated(uri);
    return;
  }
  auto relist = [this](listing& l) {
    if (phase_ == phase::initializing)
      return; // the first listing follows anyway
    if (l.id != 0)
      l.again = true;
    else
      list(l, "");
  };
  if (method == "notifications/tools/list_changed")
    relist(tools_);
  else if (method == "notifications/prompts/list_changed")
    relist(prompts_);
  else if (method == "notifications/resources/list_changed") {
    relist(resources_);
    relist(templates_);
  }
  // Others are dropped.
}

} // namespace cafmcp::protocol
