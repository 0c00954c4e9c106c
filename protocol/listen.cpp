// subscriptions/listen (2026-07-28): one request whose stream carries the notifications it asked for.
#include "protocol/endpoint.hpp"

#include "protocol/detail/endpoint_state.hpp"
#include "protocol/versions.hpp"

namespace cafmcp::protocol {

using namespace detail;

void endpoint::listen(const rpc_message& msg, const json& caps, const sink_ptr& out) {
  auto& params = params_object(msg);
  auto n = params.find("notifications");
  if (n == params.end() || !n->is_object())
    fail(rpc_code::invalid_params, "subscriptions/listen needs \"notifications\" (an object)");
  subscription_filter filter;
  json honoured = json::object();
  auto flag = [&](const char* key, bool& field) {
    auto i = n->find(key);
    if (i == n->end())
      return;
    if (!i->is_boolean())
      fail(rpc_code::invalid_params, std::string{"notifications."} + key + " must be a boolean");
    field = i->get<bool>();
    if (field)
      honoured[key] = true;
  };
  flag("toolsListChanged", filter.tools_list_changed);
  flag("promptsListChanged", filter.prompts_list_changed);
  flag("resourcesListChanged", filter.resources_list_changed);
  auto strings = [&](const char* key) {
    std::vector<std::string> out;
    auto i = n->find(key);
    if (i == n->end())
      return out;
    if (!i->is_array())
      fail(rpc_code::invalid_params, std::string{"notifications."} + key + " must be an array of strings");
    for (auto& v : *i) {
      if (!v.is_string())
        fail(rpc_code::invalid_params, std::string{"notifications."} + key + " must be an array of strings");
      out.push_back(v.get<std::string>());
    }
    return out;
  };
  auto cat = env_.catalog->snapshot();
  auto uris = strings("resourceSubscriptions");
  if (n->contains("resourceSubscriptions")) {
    for (auto& uri : uris) {
      if (!resource_visible(*cat, uri, out->tenant()))
        fail(rpc_code::invalid_params, "Resource not found", json{{"uri", uri}});
      filter.resource_uris.insert(uri);
    }
    honoured["resourceSubscriptions"] = uris;
  }
  if (n->contains("taskIds")) {
    if (!declares_tasks(caps))
      fail_tasks_undeclared();
    json known = json::array();
    for (auto& id : strings("taskIds"))
      if (env_.tasks->get(id, out->tenant())) { // unknown, expired or another tenant's: not honoured
        filter.task_ids.insert(id);
        known.push_back(id);
      }
    honoured["taskIds"] = known;
  }
  auto key = id_key(msg.id);
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (listens_.count(key) || running_.count(key))
      fail(rpc_code::invalid_request, "request id " + key + " is in use by an open request");
  }
  for (auto& uri : filter.resource_uris) // an upstream serving it is told (the listen is accepted)
    subscribe_upstream(*cat, uri);
  // Acknowledged first; the subscription starts right after it, so nothing
  // can overtake the acknowledgement.
  json ack_meta{{meta_key::subscription_id, msg.id}};
  out->notify(make_notification("notifications/subscriptions/acknowledged",
                                json{{"_meta", ack_meta}, {"notifications", honoured}}));
  auto id = msg.id;
  auto server = server_info(cat->identity());
  auto sub = env_.hub()->subscribe(
    filter,
    [out, id](const json& note) {
      auto tagged = note;
      tagged["params"]["_meta"][meta_key::subscription_id] = id;
      out->notify(tagged);
    },
    [out, id, server] {
      // The node stops: end the stream gracefully.
      out->respond(make_result(
        id, json{{"resultType", "complete"}, {"_meta", {{meta_key::subscription_id, id}, {meta_key::server_info, server}}}}));
    });
  std::lock_guard<std::mutex> guard{mtx_};
  listens_[key] = listen_entry{sub, out};
}

} // namespace cafmcp::protocol
