#include "tests/support/actor_fixture.hpp"

namespace cafmcp::test {

caf::behavior test_worker(caf::event_based_actor* self, std::string name, caf::actor observer,
                          bool stubborn, caf::message args) {
  // Reports are sent before the actor exits, so they reach the test in the
  // order the supervisor caused them.
  if (stubborn) {
    self->set_exit_handler([](caf::exit_msg&) { /* ignores every exit request */ });
    self->attach_functor([observer, name](const caf::error&) {
      caf::anon_send(observer, stopped_atom::value, name); // only a kill ends it
    });
  } else {
    self->set_exit_handler([=](caf::exit_msg& m) {
      self->send(observer, stopped_atom::value, name);
      self->quit(m.reason);
    });
  }
  return {
    [=](crash_atom) {
      self->send(observer, stopped_atom::value, name);
      self->quit(caf::make_error(caf::sec::runtime_error, "crash requested"));
    },
    [=](finish_atom) {
      self->send(observer, stopped_atom::value, name);
      self->quit();
    },
    [=](args_atom) { return to_string(args); },
  };
}

supervision::start_function worker_start(std::string name, caf::actor observer, bool stubborn) {
  // "started" is reported by the start function, i.e. in the order the
  // supervisor starts its children.
  return [=](const supervision::start_context& ctx) -> caf::expected<caf::actor> {
    caf::anon_send(observer, started_atom::value, name);
    return ctx.system.spawn(test_worker, name, observer, stubborn, ctx.args);
  };
}

supervision::child_spec worker_spec(std::string id, caf::actor observer,
                                    supervision::restart_type restart) {
  supervision::child_spec spec;
  spec.start = worker_start(id, observer);
  spec.id = std::move(id);
  spec.restart = restart;
  return spec;
}

fixture::~fixture() {
  // Kill what the test left running and keep the handles until each is
  // down: CAF 0.17 handles an exit request by touching its sender's address.
  caf::scoped_actor watcher{sys};
  for (auto& a : cleanup) {
    watcher->monitor(a);
    caf::anon_send_exit(a, caf::exit_reason::kill);
  }
  for (size_t i = 0; i < cleanup.size(); ++i)
    watcher->receive([](caf::down_msg&) {}, caf::after(wait_limit) >> [] {});
}

caf::actor fixture::start_sup(supervision::supervisor_flags flags,
                              std::vector<supervision::child_spec> kids, std::string path) {
  auto sup = supervision::spawn_supervisor(sys, std::move(path), flags, std::move(kids));
  cleanup.push_back(sup);
  return sup;
}

std::string fixture::next_started() {
  std::string out = "<timeout>";
  self->receive([&](started_atom, std::string& name) { out = name; },
                caf::after(wait_limit) >> [] {});
  return out;
}

std::string fixture::next_stopped() {
  std::string out = "<timeout>";
  self->receive([&](stopped_atom, std::string& name) { out = name; },
                caf::after(wait_limit) >> [] {});
  return out;
}

bool fixture::no_start_within(std::chrono::milliseconds d) {
  bool quiet = true;
  self->receive([&](started_atom, std::string&) { quiet = false; }, caf::after(d) >> [] {});
  return quiet;
}

std::vector<supervision::child_info> fixture::which_children(const caf::actor& sup) {
  std::vector<supervision::child_info> out;
  self->request(sup, wait_limit, supervision::which_children_atom::value)
    .receive([&](std::vector<supervision::child_info>& xs) { out = std::move(xs); },
             [&](caf::error& e) { FAIL("which_children failed: " << sys.render(e)); });
  return out;
}

supervision::child_counts fixture::count_children(const caf::actor& sup) {
  supervision::child_counts out;
  self->request(sup, wait_limit, supervision::count_children_atom::value)
    .receive([&](supervision::child_counts& x) { out = x; },
             [&](caf::error& e) { FAIL("count_children failed: " << sys.render(e)); });
  return out;
}

supervision::supervisor_info fixture::info(const caf::actor& sup) {
  supervision::supervisor_info out;
  self->request(sup, wait_limit, supervision::info_atom::value)
    .receive([&](supervision::supervisor_info& x) { out = x; },
             [&](caf::error& e) { FAIL("info failed: " << sys.render(e)); });
  return out;
}

caf::actor fixture::child(const caf::actor& sup, const std::string& id) {
  for (auto& row : which_children(sup))
    if (row.id == id)
      return row.handle;
  return caf::actor{};
}

caf::error fixture::wait_down(const caf::actor& who) {
  caf::scoped_actor watcher{sys};
  watcher->monitor(who);
  caf::error reason = caf::make_error(caf::sec::request_timeout, "actor did not go down in time");
  watcher->receive([&](caf::down_msg& d) { reason = d.reason; },
                   caf::after(wait_limit) >> [] {});
  return reason;
}

} // namespace cafmcp::test
