// The session manager: a node's session records with their TTL.
#include "actors/session_manager.hpp"

#include <unordered_map>

#include <caf/all.hpp>
#include <openssl/rand.h>

#include "actors/errors.hpp"
#include "actors/messages.hpp"
#include "base/log.hpp"
#include "base/trace.hpp"
#include "supervision/worker.hpp"

namespace cafmcp::actors {

namespace {

using sweep_atom = caf::atom_constant<caf::atom("ses_sweep")>;

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

caf::result<session_record> create(std::unordered_map<std::string, session_record>& sessions,
                                   const session_config& cfg, int64_t ttl_ms, std::string id,
                                   std::string info = {}) {
  if (ttl_ms < 0)
    return make_error(errc::invalid_argument, "ttl_ms must be 0 (default) or positive");
  if (id.empty())
    return make_error(errc::invalid_argument, "a session id must not be empty");
  session_record rec;
  rec.id = std::move(id);
  rec.created_ms = rec.last_active_ms = now_ms();
  rec.ttl_ms = ttl_ms > 0 ? ttl_ms : cfg.ttl.count();
  rec.info = std::move(info);
  if (!sessions.emplace(rec.id, rec).second)
    return make_error(errc::invalid_argument, "session id " + rec.id + " is taken");
  return rec;
}

caf::result<caf::ok_atom> put(std::unordered_map<std::string, session_record>& sessions, const std::string& id,
                              const std::string& key, std::string value) {
  auto i = sessions.find(id);
  if (i == sessions.end())
    return make_error(errc::not_found, id);
  i->second.data[key] = std::move(value);
  i->second.last_active_ms = now_ms();
  return caf::ok_atom::value;
}

struct session_state {
  std::unordered_map<std::string, session_record> sessions;
};

caf::behavior session_manager_actor(caf::stateful_actor<session_state>* self, session_config cfg,
                                    std::string path) {
  self->delayed_send(self, cfg.sweep_interval, sweep_atom::value);
  auto& sessions = self->state.sessions;
  return {
    // A traced call (trace::wrap): on one node there is no hop to trace;
    // answer the inner message as if it came alone.
    [self](trace::traced_atom, const trace::context&, caf::message& inner) {
      self->delegate(caf::actor_cast<caf::actor>(self), std::move(inner));
    },
    [=, &sessions](session_create_atom, int64_t ttl_ms) -> caf::result<session_record> {
      return create(sessions, cfg, ttl_ms, make_session_id());
    },
    [=, &sessions](session_create_atom, int64_t ttl_ms,
                   std::string& id) -> caf::result<session_record> {
      return create(sessions, cfg, ttl_ms, std::move(id));
    },
    [=, &sessions](session_create_atom, int64_t ttl_ms, std::string& id,
                   std::string& info) -> caf::result<session_record> {
      return create(sessions, cfg, ttl_ms, std::move(id), std::move(info));
    },
    [&sessions](session_info_atom, const std::string& id, std::string& info) -> caf::result<caf::ok_atom> {
      auto i = sessions.find(id);
      if (i == sessions.end())
        return make_error(errc::not_found, id);
      i->second.info = std::move(info);
      i->second.last_active_ms = now_ms();
      return caf::ok_atom::value;
    },
    [&sessions](session_get_atom, const std::string& id) -> caf::result<session_record> {
      auto i = sessions.find(id);
      if (i == sessions.end())
        return make_error(errc::not_found, id);
      return i->second;
    },
    [&sessions](session_touch_atom, const std::string& id) -> caf::result<caf::ok_atom> {
      auto i = sessions.find(id);
      if (i == sessions.end())
        return make_error(errc::not_found, id);
      i->second.last_active_ms = now_ms();
      return caf::ok_atom::value;
    },
    [&sessions](session_delete_atom, const std::string& id) -> caf::result<caf::ok_atom> {
      if (sessions.erase(id) == 0)
        return make_error(errc::not_found, id);
      return caf::ok_atom::value;
    },
    [&sessions](session_put_atom, const std::string& id, const std::string& key,
                std::string& value) -> caf::result<caf::ok_atom> {
      return put(sessions, id, key, std::move(value));
    },
    [&sessions](session_put_atom, const std::string& id, const std::string& key, std::string& value,
                const std::string& consistency) -> caf::result<caf::ok_atom> {
      // One node holds the only replica: every consistency is met once stored.
      if (consistency != "local" && consistency != "one" && consistency != "majority" && consistency != "all")
        return make_error(errc::invalid_argument, "consistency must be local, one, majority or all");
      return put(sessions, id, key, std::move(value));
    },
    [&sessions](session_list_atom) {
      std::vector<session_record> out;
      out.reserve(sessions.size());
      for (auto& kv : sessions)
        out.push_back(kv.second);
      return out;
    },
    [=, &sessions](sweep_atom) {
      auto now = now_ms();
      size_t expired = 0;
      for (auto i = sessions.begin(); i != sessions.end();) {
        if (now - i->second.last_active_ms >= i->second.ttl_ms) {
          i = sessions.erase(i);
          ++expired;
        } else {
          ++i;
        }
      }
      if (expired > 0)
        log::info(path, "expired " + std::to_string(expired) + " session(s)");
      self->delayed_send(self, cfg.sweep_interval, sweep_atom::value);
    },
  };
}

} // namespace

std::string make_session_id() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1)
    throw std::runtime_error("RAND_bytes failed: no entropy for a session id");
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(32);
  for (auto b : bytes) {
    out += hex[b >> 4];
    out += hex[b & 0x0f];
  }
  return out;
}

supervision::child_spec session_manager_spec(session_config cfg) {
  return supervision::worker_child("session_manager", session_manager_actor, cfg);
}

} // namespace cafmcp::actors
