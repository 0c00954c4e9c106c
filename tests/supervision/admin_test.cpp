// The admin actor: a supervision tree read and changed by path, with every
// change on the audit log (supervision/admin.hpp).

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "supervision/admin.hpp"
#include "base/audit_log.hpp"
#include "supervision/tree.hpp"
#include "supervision/worker.hpp"
#include "tests/support/actor_fixture.hpp"

using namespace cafmcp;
using namespace cafmcp::supervision;
using namespace cafmcp::audit;
using namespace cafmcp::test;
using namespace std::chrono_literals;

namespace {

caf::behavior idle_worker(caf::event_based_actor*, const std::string&) {
  return {[](const std::string& s) { return s; }};
}

struct admin_fixture : fixture {
  std::string dir = [] {
    char tmpl[] = "/tmp/cafmcp-admin-XXXXXX";
    return std::string{::mkdtemp(tmpl)};
  }();
  std::string audit_path = dir + "/audit.jsonl";
  caf::actor root;
  caf::actor admin;

  admin_fixture() {
    auto sub = supervisor_child("sub", {strategy::one_for_one, 5, 5000ms},
                                {worker_child("w1", idle_worker), worker_spec("plain", self)});
    root = start_sup({strategy::one_for_one, 5, 5000ms}, {sub}, "/root");
    REQUIRE(await_started(sys, root, 5s) == caf::none);
    next_started();
    admin_config cfg;
    auto r = root;
    cfg.root = [r] { return r; };
    cfg.audit_log = audit_path;
    auto h = admin_child(cfg).start(start_context{sys, "/root/admin", caf::message{}});
    REQUIRE(h);
    admin = *h;
    cleanup.push_back(admin);
  }

  ~admin_fixture() {
    std::remove(audit_path.c_str());
    ::rmdir(dir.c_str());
  }

  template <class T, class... Ts>
  caf::expected<T> ask(Ts&&... xs) {
    caf::expected<T> out{caf::error{}};
    self->request(admin, wait_limit, std::forward<Ts>(xs)...)
      .receive([&](T& x) { out = std::move(x); }, [&](caf::error& e) { out = std::move(e); });
    return out;
  }

  std::vector<nlohmann::json> audit() {
    std::ifstream in{audit_path};
    std::vector<nlohmann::json> out;
    std::string line;
    while (std::getline(in, line))
      out.push_back(nlohmann::json::parse(line));
    return out;
  }
};

} // namespace

TEST_CASE_FIXTURE(admin_fixture, "the admin actor answers a subtree by path with strategies, states and mailboxes") {
  auto t = ask<tree_node>(admin_tree_atom::value, std::string{"/root"});
  REQUIRE_MESSAGE(t, sys.render(t.error()));
  CHECK(t->path == "/root");
  CHECK(t->strategy == "one_for_one");
  REQUIRE(t->children.size() == 1);
  auto& sub = t->children[0];
  CHECK(sub.path == "/root/sub");
  CHECK(sub.type == "supervisor");
  CHECK(sub.mailbox == 0); // measured after our own questions were answered
  REQUIRE(sub.children.size() == 2);
  CHECK(sub.children[0].id == "w1");
  CHECK(sub.children[0].mailbox == 0); // a worker_child measures its own
  CHECK(sub.children[0].restart == "permanent");
  CHECK(sub.children[1].mailbox == -1); // not a worker_child: never asked
  CHECK(sub.children[1].actor_id == child(child(root, "sub"), "plain").id());

  auto kids = ask<std::vector<tree_node>>(admin_which_atom::value, std::string{"/root/sub/"});
  REQUIRE(kids);
  CHECK(kids->size() == 2);
  auto counts = ask<child_counts>(admin_count_atom::value, std::string{"/root/sub"});
  REQUIRE(counts);
  CHECK(counts->active == 2);
  CHECK(audit().empty()); // reads are not audited
}

TEST_CASE_FIXTURE(admin_fixture, "a wrong path is answered with the children that exist") {
  auto nope = ask<tree_node>(admin_tree_atom::value, std::string{"/root/sub/nope"});
  REQUIRE_FALSE(nope);
  CHECK(sys.render(nope.error()).find("no child nope under /root/sub; its children: w1, plain") != std::string::npos);
  auto outside = ask<tree_node>(admin_tree_atom::value, std::string{"/elsewhere"});
  REQUIRE_FALSE(outside);
  CHECK(sys.render(outside.error()).find("a path starts with /root") != std::string::npos);
  auto worker = ask<std::vector<tree_node>>(admin_which_atom::value, std::string{"/root/sub/w1"});
  REQUIRE_FALSE(worker);
  CHECK(sys.render(worker.error()).find("/root/sub/w1 is a worker, not a supervisor") != std::string::npos);
  auto below_worker = ask<tree_node>(admin_tree_atom::value, std::string{"/root/sub/w1/x"});
  REQUIRE_FALSE(below_worker);
  CHECK(sys.render(below_worker.error()).find("is a worker: it has no children") != std::string::npos);
}

TEST_CASE_FIXTURE(admin_fixture, "kill by path lets the supervisor restart the actor - and the audit log records it") {
  auto before = child(child(root, "sub"), "plain");
  auto killed = ask<uint64_t>(admin_kill_atom::value, std::string{"alice@host"}, std::string{"/root/sub/plain"});
  REQUIRE_MESSAGE(killed, sys.render(killed.error()));
  CHECK(*killed == before.id());
  CHECK(next_started() == "plain");
  auto after = child(child(root, "sub"), "plain");
  CHECK(after.id() != before.id());
  auto refused = ask<uint64_t>(admin_kill_atom::value, std::string{"alice@host"}, std::string{"/root"});
  REQUIRE_FALSE(refused);
  auto lines = audit();
  REQUIRE(lines.size() == 2);
  CHECK(lines[0]["op"] == "kill");
  CHECK(lines[0]["who"] == "alice@host");
  CHECK(lines[0]["target"] == "/root/sub/plain");
  CHECK(lines[0]["result"] == "ok");
  CHECK(lines[1]["result"].get<std::string>().find("refusing to kill /root") != std::string::npos);
  auto tail = ask<std::vector<std::string>>(admin_audit_atom::value, uint32_t{1});
  REQUIRE(tail);
  REQUIRE(tail->size() == 1);
  CHECK(nlohmann::json::parse(tail->front())["op"] == "kill");
}

TEST_CASE_FIXTURE(admin_fixture, "terminate, restart, delete and start a child by path, each audited with its result") {
  auto sub = std::string{"/root/sub"};
  auto who = std::string{"bob@host"};
  self->request(admin, wait_limit, admin_terminate_atom::value, who, sub, std::string{"w1"})
    .receive([] {}, [](caf::error& e) { FAIL("terminate failed: " << to_string(e)); });
  auto kids = ask<std::vector<tree_node>>(admin_which_atom::value, sub);
  REQUIRE(kids);
  CHECK((*kids)[0].state == "undefined");
  auto restarted = ask<uint64_t>(admin_restart_atom::value, who, sub, std::string{"w1"});
  REQUIRE(restarted);
  CHECK(*restarted == child(child(root, "sub"), "w1").id());
  auto running = ask<uint64_t>(admin_restart_atom::value, who, sub, std::string{"w1"});
  REQUIRE_FALSE(running);
  CHECK(is(running.error(), errc::running));
  child_spec_desc desc;
  desc.id = "x";
  desc.actor_type = "no_such_type";
  auto bad = ask<uint64_t>(admin_start_atom::value, who, sub, desc);
  REQUIRE_FALSE(bad);
  CHECK(is(bad.error(), errc::start_failed));
  std::vector<std::string> ops;
  for (auto& l : audit())
    ops.push_back(l["op"].get<std::string>() + (l["result"] == "ok" ? " ok" : " failed"));
  CHECK(ops == std::vector<std::string>{"terminate_child ok", "restart_child ok", "restart_child failed",
                                        "start_child failed"});
}

TEST_CASE_FIXTURE(fixture, "an audit log that cannot be written fails the admin actor's start") {
  admin_config cfg;
  cfg.root = [] { return caf::actor{}; };
  cfg.audit_log = "/nonexistent-dir/audit.jsonl";
  auto h = admin_child(cfg).start(start_context{sys, "/root/admin", caf::message{}});
  REQUIRE_FALSE(h);
  CHECK(sys.render(h.error()).find("cannot open the audit log /nonexistent-dir/audit.jsonl") != std::string::npos);
}

TEST_CASE("an audit record is one JSON line with time, who, op, target, result and the previous line's hash") {
  auto line = audit_line({"carol@h", "kill", "/root/x", "ok"}, 1795000000123, audit_genesis);
  CHECK(line.find('\n') == std::string::npos);
  auto j = nlohmann::json::parse(line);
  CHECK(j["time"] == "2026-11-18T11:06:40.123Z");
  CHECK(j["who"] == "carol@h");
  CHECK(j["op"] == "kill");
  CHECK(j["target"] == "/root/x");
  CHECK(j["result"] == "ok");
  CHECK(j["prev"] == std::string(64, '0'));
}

TEST_CASE_FIXTURE(fixture, "the audit log chains every record to the one before - across restarts of its writer") {
  char tmpl[] = "/tmp/cafmcp-audit-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  auto path = dir + "/audit.jsonl";
  for (int round = 0; round < 2; ++round) { // the second writer continues the first one's chain
    auto w = spawn_audit_log(sys, path);
    REQUIRE(w);
    for (int i = 0; i < 3; ++i)
      self->request(*w, wait_limit, audit_record_atom::value, audit_record{"dave@h", "kill", "/root/x" + std::to_string(i), "ok"})
        .receive([] {}, [](caf::error& e) { FAIL(to_string(e)); });
    self->send_exit(*w, caf::exit_reason::user_shutdown);
  }
  std::ifstream in{path};
  auto v = verify_audit_log(in);
  CHECK(v.records == 6);
  CHECK(v.broken_line == 0);

  // Tampering anywhere breaks the chain at the line after the change.
  std::vector<std::string> lines;
  {
    std::ifstream again{path};
    for (std::string l; std::getline(again, l);)
      lines.push_back(l);
  }
  auto verdict = [](const std::vector<std::string>& ls) {
    std::stringstream s;
    for (auto& l : ls)
      s << l << '\n';
    return verify_audit_log(s);
  };
  auto changed = lines;
  changed[2].replace(changed[2].find("\"ok\""), 4, "\"no\"");
  CHECK(verdict(changed).broken_line == 4);
  auto removed = lines;
  removed.erase(removed.begin() + 1);
  CHECK(verdict(removed).broken_line == 2);
  auto inserted = lines;
  inserted.insert(inserted.begin() + 3, lines[0]);
  CHECK(verdict(inserted).broken_line == 4);
  auto garbage = lines;
  garbage[5] = "not json";
  auto g = verdict(garbage);
  CHECK(g.broken_line == 6);
  CHECK(g.why == "not a JSON object");
  CHECK(verdict({}).records == 0);

  // A torn last line (a crash mid-write) stays visible: the next writer starts on a new line.
  {
    std::ofstream out{path, std::ios::app};
    out << "{\"time\": \"2026-";
  }
  auto w = spawn_audit_log(sys, path);
  REQUIRE(w);
  self->request(*w, wait_limit, audit_record_atom::value, audit_record{"dave@h", "kill", "/root/y", "ok"})
    .receive([] {}, [](caf::error& e) { FAIL(to_string(e)); });
  self->send_exit(*w, caf::exit_reason::user_shutdown);
  std::ifstream torn{path};
  auto t = verify_audit_log(torn);
  CHECK(t.records == 7);
  CHECK(t.broken_line == 7);
  std::remove(path.c_str());
  ::rmdir(dir.c_str());
}
