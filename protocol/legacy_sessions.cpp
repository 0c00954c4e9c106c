// A legacy session's life on an endpoint: initialize, its record saved, renewed, forgotten and restored elsewhere.
#include "protocol/endpoint.hpp"

#include <caf/all.hpp>

#include "actors/errors.hpp"
#include "actors/session_manager.hpp"
#include "protocol/detail/endpoint_state.hpp"
#include "protocol/versions.hpp"

namespace cafmcp::protocol {

using namespace detail;

void endpoint::initialize(const rpc_message& msg, const sink_ptr& out) {
  auto& params = params_object(msg);
  auto requested = params.find("protocolVersion");
  if (requested == params.end() || !requested->is_string())
    fail(rpc_code::invalid_params, "initialize needs \"protocolVersion\" (a string)");
  // Negotiation: the client's version if we serve it, else our newest.
  auto version = is_legacy(requested->get<std::string>()) ? requested->get<std::string>()
                                                          : legacy_versions().front();
  legacy_session s;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (session_)
      fail(rpc_code::invalid_request, "this session is initialized already");
  }
  s.id = actors::make_session_id();
  s.protocol_version = version;
  s.client_info = params.value("clientInfo", json::object());
  s.client_capabilities = params.value("capabilities", json::object());
  s.subject = out->subject(); // bound to them: another subject's or tenant's requests do not find it
  s.tenant = out->tenant();
  // The session's record (its implicit state handle) lives in the session
  // manager; created without waiting: its mailbox keeps the order.
  if (auto sm = env_.session_manager ? env_.session_manager() : caf::actor{})
    caf::anon_send(sm, actors::session_create_atom::value, int64_t{0}, s.id, s.to_json().dump());
  {
    std::lock_guard<std::mutex> guard{mtx_};
    session_ = s;
    last_saved_ = std::chrono::steady_clock::now();
  }
  subscribe_legacy();
  auto cat = env_.catalog->snapshot();
  auto& id = cat->identity();
  json caps{{"tools", {{"listChanged", true}}},
            {"resources", {{"subscribe", true}, {"listChanged", true}}},
            {"prompts", {{"listChanged", true}}},
            {"logging", json::object()}};
  if (version != "2024-11-05")
    caps["completions"] = json::object();
  json result{{"protocolVersion", version}, {"capabilities", caps}, {"serverInfo", server_info(id)}};
  if (version == "2024-11-05" || version == "2025-03-26")
    result["serverInfo"].erase("title"); // not in those schemas
  put_if(result, "instructions", id.instructions);
  out->respond(make_result(msg.id, std::move(result)));
}


void endpoint::save_session() {
  std::string id, info;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!session_)
      return;
    id = session_->id;
    info = session_->to_json().dump();
    last_saved_ = std::chrono::steady_clock::now();
  }
  if (auto sm = env_.session_manager ? env_.session_manager() : caf::actor{})
    caf::anon_send(sm, actors::session_info_atom::value, std::move(id), std::move(info));
}

void endpoint::renew_session() {
  // The record outlives idle periods of its TTL only if renewed; at most
  // every env_.session_renew, without waiting.
  std::string id;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto now = std::chrono::steady_clock::now();
    if (!session_ || now - last_saved_ < env_.session_renew)
      return;
    last_saved_ = now;
    id = session_->id;
  }
  if (auto sm = env_.session_manager ? env_.session_manager() : caf::actor{})
    caf::anon_send(sm, actors::session_touch_atom::value, std::move(id));
}

void endpoint::forget_session(std::function<void(std::string)> done) {
  std::string id;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!session_)
      return done({});
    id = session_->id;
  }
  auto sm = env_.session_manager ? env_.session_manager() : caf::actor{};
  if (!sm)
    return done("the session manager is restarting");
  // Waited for: a DELETE answered before its deletion is acknowledged could
  // bring the session back after a crash. From a short-lived actor, since
  // callers are I/O threads.
  sm->home_system().spawn(
    [sm, done](caf::event_based_actor* self, std::string id) {
      self->request(sm, std::chrono::seconds(5), actors::session_delete_atom::value, id)
        .then([done](caf::ok_atom) { done({}); },
              [self, done](caf::error& err) {
                // Gone already (expired, deleted through another node): done.
                done(actors::is(err, actors::errc::not_found) ? std::string{} : self->system().render(err));
              });
    },
    std::move(id));
}

void endpoint::restore(const endpoint_env& env, const std::string& id,
                       std::function<void(std::shared_ptr<endpoint>)> done) {
  auto sm = env.session_manager ? env.session_manager() : caf::actor{};
  if (!sm || id.empty())
    return done(nullptr);
  fetch_record(sm, id, [env, id, done](std::optional<actors::session_record> rec) {
    auto s = rec ? legacy_session::from_info(id, rec->info) : std::nullopt;
    if (!s)
      return done(nullptr); // none, or a state handle rather than a legacy session
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
    if (rec->ttl_ms > 0 && now - rec->last_active_ms >= rec->ttl_ms)
      return done(nullptr); // idle past its TTL: over, even if not swept yet
    auto ep = std::make_shared<endpoint>(env);
    ep->adopt(std::move(*s));
    ep->subscribe_legacy();
    auto subs = ep->session()->subscriptions;
    if (!subs.empty())
      env.hub()->update(ep->legacy_sub_, [&](subscription_filter& f) { f.resource_uris = subs; });
    auto cat = env.catalog->snapshot();
    for (auto& uri : subs) // upstreams here may not know them yet (another member, or a restart)
      endpoint::subscribe_upstream(*cat, uri);
    done(ep);
  });
}

void endpoint::subscribe_legacy() {
  subscription_filter all;
  all.tools_list_changed = all.prompts_list_changed = all.resources_list_changed = true;
  std::weak_ptr<endpoint> weak = weak_from_this();
  auto sub = env_.hub()->subscribe(all, [weak](const json& n) {
    if (auto self = weak.lock())
      self->push(n);
  });
  std::lock_guard<std::mutex> guard{mtx_};
  legacy_sub_ = sub;
}


namespace detail {

/// Asks `sm` for record `id` from a short-lived actor (callers are I/O
/// threads: they must not block); `done` gets it, or nullopt on any error.
void fetch_record(const caf::actor& sm, const std::string& id,
                  std::function<void(std::optional<actors::session_record>)> done) {
  // (The id as an argument: argument-less function actors trip UBSan in CAF 0.17.)
  sm->home_system().spawn(
    [sm, done](caf::event_based_actor* self, std::string id) {
      self->request(sm, std::chrono::seconds(5), actors::session_get_atom::value, id)
        .then([done](actors::session_record& rec) { done(std::move(rec)); },
              [done](caf::error&) { done(std::nullopt); });
    },
    id);
}


} // namespace detail

} // namespace cafmcp::protocol
