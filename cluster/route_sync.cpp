// The cluster's routing rules, one version on every member: read, applied, changed.
#include "cluster/route_sync.hpp"

#include <algorithm>
#include <functional>
#include <optional>
#include <stdexcept>

#include <caf/all.hpp>

#include "actors/core_sup.hpp"
#include "actors/errors.hpp"
#include "actors/messages.hpp"
#include "base/log.hpp"
#include "cluster/errors.hpp"
#include "cluster/messages.hpp"
#include "protocol/route_document.hpp"
#include "supervision/worker.hpp"

namespace cafmcp::cluster {

namespace {

using protocol::route_document;
using routes_poll_atom = caf::atom_constant<caf::atom("rt_poll")>;

// Rules never expire: a record lives as long as its version is kept.
constexpr int64_t record_ttl_ms = 10LL * 365 * 24 * 3600 * 1000;
constexpr uint64_t kept_versions = 16; // older versions are deleted (a member that far behind reads the head)
constexpr int max_climb = 64;          // versions read upward in one look
constexpr int max_write_attempts = 8;  // a version taken by another member's change: build on it and retry
// The runtime's own records: never counted or listed as sessions.
const std::string routes_prefix = std::string{runtime_record_prefix} + "routes.";
const std::string head_id = routes_prefix + "head";
// A change retries within this (the CLI waits longer: shell_routes_commands.cpp).
constexpr std::chrono::seconds change_limit{30};

std::string version_id(uint64_t v) {
  return routes_prefix + std::to_string(v);
}

struct sync_state {
  route_sync_config cfg;
  std::shared_ptr<actors::name_table> names;
  std::string path;
  route_document applied;  // the version the node decides with
  nlohmann::json running;  // the upstreams the node was told to run (complete entries)
  nlohmann::json tenants;  // the tenants the node applies (complete entries)
  uint64_t refused = 0;    // the newest version that could not be compiled (logged once)
  bool looking = false;    // a poll is under way
  std::string last_error;  // the last poll's ("": it worked), logged when it changes
  int failures = 0;        // polls in a row that failed
  uint64_t looks = 0;      // polls so far
  // No head yet: a read of a missing record makes its primary ask every
  // member, so until a change is made a member looks only every tenth poll
  // (a change's maker has every member look at once: routes_look_atom).
  bool no_head = false;
};

using state_ptr = std::shared_ptr<sync_state>;
using doc_k = std::function<void(std::optional<route_document>, caf::error)>;

caf::error no_replicator() {
  return make_error(errc::unreachable, "this node's replicator is not running");
}

/// The version the head record names (0: unreadable; a look then climbs from what this node has).
uint64_t head_version(const actors::session_record& head) {
  try {
    return std::stoull(head.info);
  } catch (const std::exception&) {
    return 0;
  }
}

/// Version `v` (nullopt: no such version in the cluster).
void read_version(caf::event_based_actor* self, const state_ptr& st, uint64_t v, doc_k k) {
  auto r = st->names->lookup("replicator");
  if (!r)
    return k(std::nullopt, no_replicator());
  self->request(r, st->cfg.timeout, actors::session_get_atom::value, version_id(v))
    .then(
      [k, v](actors::session_record& rec) {
        auto doc = route_document::from_text(rec.info);
        if (!doc || doc->version != v)
          return k(std::nullopt, make_error(errc::unexpected_answer,
                                            "record " + rec.id + " does not hold routing rules version "
                                              + std::to_string(v)));
        k(std::move(doc), caf::none);
      },
      [k](caf::error& err) {
        if (actors::is(err, actors::errc::not_found))
          return k(std::nullopt, caf::none);
        k(std::nullopt, std::move(err));
      });
}

/// From version `v` (held: `at_v`, if read), the versions above it, one by one.
void climb(caf::event_based_actor* self, const state_ptr& st, uint64_t v, std::optional<route_document> at_v,
           int steps, doc_k k) {
  read_version(self, st, v + 1, [self, st, v, at_v, steps, k](std::optional<route_document> next, caf::error err) {
    if (err)
      return k(std::nullopt, std::move(err));
    if (next)
      return steps + 1 >= max_climb ? k(std::move(next), caf::none)
                                    : climb(self, st, v + 1, std::move(next), steps + 1, k);
    if (at_v || v <= st->applied.version)
      return k(at_v ? at_v : st->applied, caf::none);
    // The head named v: read it.
    read_version(self, st, v, [st, k](std::optional<route_document> doc, caf::error err) {
      if (err)
        return k(std::nullopt, std::move(err));
      k(doc ? std::move(doc) : std::optional<route_document>{st->applied}, caf::none);
    });
  });
}

/// The newest version in the cluster (at least the applied one). The head
/// record names it; `thorough` also reads the versions above the head one
/// by one (a change must build on the newest, and a head can lag a change
/// whose maker died before it moved the head). Otherwise the head alone is
/// read while it names nothing newer: a read of a record that does not
/// exist makes its primary ask every member for it.
void newest(caf::event_based_actor* self, const state_ptr& st, bool thorough, doc_k k) {
  auto r = st->names->lookup("replicator");
  if (!r)
    return k(std::nullopt, no_replicator());
  self->request(r, st->cfg.timeout, actors::session_get_atom::value, head_id)
    .then(
      [self, st, thorough, k](actors::session_record& rec) {
        st->no_head = false;
        auto head = head_version(rec);
        if (head > st->applied.version)
          return climb(self, st, head, std::nullopt, 0, k);
        if (!thorough)
          return k(st->applied, caf::none);
        climb(self, st, st->applied.version, st->applied, 0, k);
      },
      [self, st, thorough, k](caf::error& err) {
        if (!actors::is(err, actors::errc::not_found))
          return k(std::nullopt, std::move(err));
        st->no_head = true; // no change was ever made (the cluster holds no routing record)
        if (thorough)
          return climb(self, st, st->applied.version, st->applied, 0, k);
        k(st->applied, caf::none);
      });
}

void apply_version(const state_ptr& st, const route_document& doc) {
  if (doc.version <= st->applied.version)
    return;
  try {
    // Everything is read before anything is replaced: a version is applied whole or not at all.
    auto table = doc.compile();
    auto wanted_tenants = doc.tenants.value_or(st->cfg.config_tenants);
    auto tenants_changed = wanted_tenants != st->tenants;
    auto tenants = protocol::parse_tenants(wanted_tenants);
    st->cfg.live->replace(std::move(table));
    auto from_config = st->applied.version == 1;
    st->applied = doc;
    auto wanted = doc.upstreams.value_or(st->cfg.config_upstreams);
    auto upstreams_changed = wanted != st->running;
    log::info(st->path, "routing rules version " + std::to_string(doc.version) + " applied ("
                          + std::to_string(doc.routes.size()) + " rules, " + std::to_string(wanted.size())
                          + " upstreams, " + std::to_string(wanted_tenants.size()) + " tenants"
                          + (from_config ? "; the cluster's rules replace the config's \"routes\"" : "") + ")");
    if (tenants_changed) {
      st->tenants = wanted_tenants;
      if (st->cfg.tenants)
        st->cfg.tenants->replace(std::move(tenants));
    }
    if (upstreams_changed) {
      st->running = wanted;
      if (st->cfg.run_upstreams)
        st->cfg.run_upstreams(wanted);
    }
  } catch (const std::exception& e) {
    // Written by a member that accepted it: a build that reads rules differently. Keep the last good one.
    if (doc.version > st->refused)
      log::error(st->path, "routing rules version " + std::to_string(doc.version) + " cannot be used here ("
                             + e.what() + "): still applying version " + std::to_string(st->applied.version));
    st->refused = std::max(st->refused, doc.version);
  }
}

void poll(caf::event_based_actor* self, const state_ptr& st, std::function<void()> then = nullptr, bool now = false) {
  if (st->looking) {
    if (then)
      then(); // a look is under way: answer with what is applied
    return;
  }
  auto look = ++st->looks;
  if (st->no_head && !now && look % 10 != 0)
    return;
  st->looking = true;
  // Every tenth look climbs past the head too (a change whose maker died before it moved the head).
  auto thorough = look % 10 == 0;
  newest(self, st, thorough, [self, st, then](std::optional<route_document> doc, caf::error err) {
    st->looking = false;
    auto why = err ? self->system().render(err) : std::string{};
    st->failures = err ? st->failures + 1 : 0;
    // A few failed polls are normal while the cluster forms or a member
    // comes and goes; past that, each new reason is said once.
    constexpr int normal_failures = 5;
    if (err && st->failures >= normal_failures && why != st->last_error) {
      log::warning(st->path, "cannot read the cluster's routing rules (" + std::to_string(st->failures)
                               + " tries, retried every " + std::to_string(st->cfg.poll.count()) + " ms): " + why);
      st->last_error = why;
    } else if (!err && !st->last_error.empty()) {
      log::info(st->path, "routing rules can be read from the cluster again");
      st->last_error.clear();
    }
    if (doc && doc->version > st->refused)
      apply_version(st, *doc);
    if (then)
      then();
  });
}

/// Moves the head to `v` unless it names a newer version already. Two
/// changes may move it at once (the last write wins): each reads it again
/// afterwards and writes once more while it names less than its version.
void advance_head(caf::event_based_actor* self, const state_ptr& st, uint64_t v, int tries = 5) {
  auto r = st->names->lookup("replicator");
  if (!r)
    return;
  auto failed = [self, st, v](const caf::error& err) {
    log::warning(st->path, "routing rules head not moved to version " + std::to_string(v) + ": "
                             + self->system().render(err) + " (members find the version on a later look)");
  };
  self->request(r, st->cfg.timeout, actors::session_get_atom::value, head_id)
    .then(
      [self, st, r, v, tries, failed](actors::session_record& rec) {
        auto head = head_version(rec);
        if (head >= v)
          return;
        if (tries <= 0)
          return failed(make_error(errc::unexpected_answer, "it names version " + std::to_string(head)));
        self->request(r, st->cfg.timeout, actors::session_info_atom::value, head_id, std::to_string(v))
          .then([self, st, v, tries](caf::ok_atom) { advance_head(self, st, v, tries - 1); }, failed);
      },
      [self, st, r, v, tries, failed](caf::error& err) {
        if (!actors::is(err, actors::errc::not_found) || tries <= 0)
          return failed(err);
        self->request(r, st->cfg.timeout, actors::session_create_atom::value, record_ttl_ms, head_id, std::to_string(v))
          .then([](actors::session_record&) {},
                [self, st, v, tries](caf::error&) { advance_head(self, st, v, tries - 1); }); // made meanwhile
      });
}

using edit_fn = std::function<route_document(const route_document&)>;

/// After `next` was made: applied here, the head moved, the oldest kept version dropped.
void made(caf::event_based_actor* self, const state_ptr& st, const route_document& next, caf::response_promise rp) {
  apply_version(st, next);
  advance_head(self, st, next.version);
  if (auto r = st->names->lookup("replicator"); r && next.version > kept_versions + 1)
    self->request(r, st->cfg.timeout, actors::session_delete_atom::value, version_id(next.version - kept_versions))
      .then([](caf::ok_atom) {}, [](caf::error&) {}); // already gone: nothing to do
  rp.deliver(next.redacted().to_text());
}

/// Makes the next version from the newest one and creates its record; a
/// version another member made first is built on, up to max_write_attempts
/// and `deadline`.
void change(caf::event_based_actor* self, const state_ptr& st, edit_fn edit, caf::response_promise rp, int attempt,
            std::chrono::steady_clock::time_point deadline) {
  newest(self, st, true, [self, st, edit, rp, attempt, deadline](std::optional<route_document> doc,
                                                                 caf::error err) mutable {
    if (err)
      return rp.deliver(std::move(err));
    apply_version(st, *doc);
    route_document next;
    try {
      next = edit(*doc);
    } catch (const std::invalid_argument& e) {
      return rp.deliver(actors::make_error(actors::errc::invalid_argument, e.what()));
    }
    auto r = st->names->lookup("replicator");
    if (!r)
      return rp.deliver(no_replicator());
    self->request(r, st->cfg.timeout, actors::session_create_atom::value, record_ttl_ms, version_id(next.version),
                  next.to_text())
      .then([self, st, next, rp](actors::session_record&) mutable { made(self, st, next, rp); },
            [self, st, edit, rp, attempt, deadline, next](caf::error& err) mutable {
              // Taken, or failed part way (too few replicas in time): what holds version N now decides.
              log::info(st->path, "routing rules version " + std::to_string(next.version) + " not created here: "
                                    + self->system().render(err));
              read_version(self, st, next.version, [self, st, edit, rp, attempt, deadline, next, err](
                                                      std::optional<route_document> there, caf::error read_err) mutable {
                if (there && there->same_contents(next))
                  return made(self, st, next, rp); // it was made (its replicas catch up)
                if (there && attempt + 1 < max_write_attempts && std::chrono::steady_clock::now() < deadline) {
                  log::info(st->path, "routing rules version " + std::to_string(next.version)
                                        + " was made by another change meanwhile: building on it");
                  return change(self, st, edit, rp, attempt + 1, deadline);
                }
                if (there)
                  return rp.deliver(make_error(errc::timeout, "other changes kept making version "
                                                                + std::to_string(next.version) + " first; try again"));
                if (read_err)
                  return rp.deliver(make_error(errc::timeout, "version " + std::to_string(next.version)
                                                                + " may or may not have been made ("
                                                                + self->system().render(err)
                                                                + "); see `cafmcp routes list` before trying again"));
                rp.deliver(std::move(err)); // not made
              });
            });
  });
}

/// A change asked for: made (or refused) within change_limit, answered through the promise returned.
caf::response_promise start(caf::event_based_actor* self, const state_ptr& st, edit_fn edit) {
  auto rp = self->make_response_promise();
  change(self, st, std::move(edit), rp, 0, std::chrono::steady_clock::now() + change_limit);
  return rp;
}

caf::behavior route_sync(caf::event_based_actor* self, state_ptr st, std::string path) {
  // The state outlives an incarnation: a restarted actor keeps the version it applied.
  st->path = std::move(path);
  st->looking = false;
  self->send(self, routes_poll_atom::value);
  return {
    [self, st](routes_poll_atom) {
      poll(self, st);
      self->delayed_send(self, st->cfg.poll, routes_poll_atom::value);
    },
    [st](routes_get_atom) { return st->applied.redacted().to_text(); },
    [self, st](routes_look_atom) {
      auto rp = self->make_response_promise<std::string>();
      poll(self, st, [rp, st]() mutable { rp.deliver(st->applied.redacted().to_text()); }, true);
      return rp;
    },
    [self, st](routes_add_atom, const std::string& id, const std::string& rule, bool replace) {
      return start(self, st, [id, rule, replace](const route_document& d) { return d.with_rule(id, rule, replace); });
    },
    [self, st](routes_remove_atom, const std::string& id) {
      return start(self, st, [id](const route_document& d) { return d.without_rule(id); });
    },
    [self, st](upstreams_add_atom, const std::string& name, const std::string& entry, bool replace) {
      return start(self, st, [st, name, entry, replace](const route_document& d) {
        return d.with_upstream(name, entry, replace, d.upstreams.value_or(st->cfg.config_upstreams),
                               st->cfg.run_time_programs);
      });
    },
    [self, st](upstreams_remove_atom, const std::string& name) {
      return start(self, st, [st, name](const route_document& d) {
        return d.without_upstream(name, d.upstreams.value_or(st->cfg.config_upstreams));
      });
    },
    [self, st](tenants_add_atom, const std::string& name, const std::string& entry, bool replace) {
      return start(self, st, [st, name, entry, replace](const route_document& d) {
        return d.with_tenant(name, entry, replace, d.tenants.value_or(st->cfg.config_tenants));
      });
    },
    [self, st](tenants_remove_atom, const std::string& name) {
      return start(self, st, [st, name](const route_document& d) {
        return d.without_tenant(name, d.tenants.value_or(st->cfg.config_tenants));
      });
    },
  };
}

} // namespace

supervision::child_spec route_sync_spec(route_sync_config cfg, std::shared_ptr<actors::name_table> names) {
  auto st = std::make_shared<sync_state>();
  st->cfg = std::move(cfg);
  st->names = names;
  st->applied.routes = st->cfg.config_routes;
  st->running = st->cfg.config_upstreams; // started by the node itself
  st->tenants = st->cfg.config_tenants;    // read by the node's config
  if (auto table = st->cfg.live->current())
    st->applied.version = table->version();
  return actors::registered(supervision::worker_child("routing", route_sync, st), std::move(names));
}

} // namespace cafmcp::cluster
