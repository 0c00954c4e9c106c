// The admin actor: a supervision tree read and changed by path, every change
// on the audit log before it is made (supervision/admin.hpp).

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <sys/stat.h>
#include <unistd.h>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "supervision/admin.hpp"
#include "base/audit_log.hpp"
#include "base/crypto.hpp"
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
  std::string audit_key = crypto::random_bytes(32);
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
    cfg.audit_key = audit_key;
    auto h = admin_child(cfg).start(start_context{sys, "/root/admin", caf::message{}});
    REQUIRE(h);
    admin = *h;
    cleanup.push_back(admin);
  }

  ~admin_fixture() {
    for (auto p : {audit_path, audit_path + ".away"}) {
      std::remove(p.c_str());
      ::rmdir(p.c_str());
    }
    ::rmdir(dir.c_str());
  }

  template <class T, class... Ts>
  caf::expected<T> ask(Ts&&... xs) {
    caf::expected<T> out{caf::error{}};
    self->request(admin, wait_limit, std::forward<Ts>(xs)...)
      .receive([&](T& x) { out = std::move(x); }, [&](caf::error& e) { out = std::move(e); });
    return out;
  }

  /// The error of a request answered with nothing (none: it succeeded).
  template <class... Ts>
  caf::error ask_void(Ts&&... xs) {
    caf::error out;
    self->request(admin, wait_limit, std::forward<Ts>(xs)...)
      .receive([] {}, [&](caf::error& e) { out = std::move(e); });
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
  // Each change: its intent before it is made, its outcome after.
  auto lines = audit();
  REQUIRE(lines.size() == 4);
  for (auto& l : lines) {
    CHECK(l["op"] == "kill");
    CHECK(l["who"] == "alice@host");
  }
  CHECK(lines[0]["target"] == "/root/sub/plain");
  CHECK(lines[0]["result"] == "requested");
  CHECK(lines[1]["target"] == "/root/sub/plain");
  CHECK(lines[1]["result"] == "ok");
  CHECK(lines[2]["target"] == "/root");
  CHECK(lines[2]["result"] == "requested");
  CHECK(lines[3]["result"].get<std::string>().find("refusing to kill /root") != std::string::npos);
  auto tail = ask<std::vector<std::string>>(admin_audit_atom::value, uint32_t{1});
  REQUIRE(tail);
  REQUIRE(tail->size() == 1);
  CHECK(nlohmann::json::parse(tail->front())["op"] == "kill");
  std::ifstream in{audit_path};
  CHECK(verify_audit_log(in, audit_key).broken_line == 0);
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
    ops.push_back(l["op"].get<std::string>() + " "
                  + (l["result"] == "ok" || l["result"] == "requested" ? l["result"].get<std::string>() : "failed"));
  CHECK(ops == std::vector<std::string>{"terminate_child requested", "terminate_child ok",
                                        "restart_child requested", "restart_child ok",
                                        "restart_child requested", "restart_child failed",
                                        "start_child requested", "start_child failed"});
}

TEST_CASE_FIXTURE(fixture, "an audit log that cannot be written fails the admin actor's start") {
  admin_config cfg;
  cfg.root = [] { return caf::actor{}; };
  cfg.audit_log = "/nonexistent-dir/audit.jsonl";
  cfg.audit_key = crypto::random_bytes(32);
  auto h = admin_child(cfg).start(start_context{sys, "/root/admin", caf::message{}});
  REQUIRE_FALSE(h);
  CHECK(sys.render(h.error()).find("cannot open the audit log /nonexistent-dir/audit.jsonl") != std::string::npos);
}

TEST_CASE_FIXTURE(admin_fixture, "when the audit log cannot be written, kill is refused and the actor keeps running") {
  auto before = child(child(root, "sub"), "plain");
  // The log replaced by a directory: no intent record can be written.
  REQUIRE(std::rename(audit_path.c_str(), (audit_path + ".away").c_str()) == 0);
  REQUIRE(::mkdir(audit_path.c_str(), 0700) == 0);
  auto refused = ask<uint64_t>(admin_kill_atom::value, std::string{"alice@host"}, std::string{"/root/sub/plain"});
  REQUIRE_FALSE(refused);
  CHECK(is(refused.error(), errc::audit_failed));
  CHECK_MESSAGE(sys.render(refused.error()).find("the audit log " + audit_path
                                                 + " cannot be written: open: Is a directory; refusing kill")
                  != std::string::npos,
                sys.render(refused.error()));
  CHECK(no_start_within(200ms));
  CHECK(child(child(root, "sub"), "plain").id() == before.id());
  auto terminate = ask_void(admin_terminate_atom::value, std::string{"alice@host"}, std::string{"/root/sub"},
                           std::string{"plain"});
  REQUIRE(terminate != caf::none);
  CHECK(is(terminate, errc::audit_failed));
  CHECK(child(child(root, "sub"), "plain").id() == before.id());

  // Writable again: the change goes through, audited.
  REQUIRE(::rmdir(audit_path.c_str()) == 0);
  REQUIRE(std::rename((audit_path + ".away").c_str(), audit_path.c_str()) == 0);
  auto killed = ask<uint64_t>(admin_kill_atom::value, std::string{"alice@host"}, std::string{"/root/sub/plain"});
  REQUIRE_MESSAGE(killed, sys.render(killed.error()));
  CHECK(*killed == before.id());
  auto lines = audit();
  REQUIRE(lines.size() == 2);
  CHECK(lines[0]["result"] == "requested");
  CHECK(lines[1]["result"] == "ok");
}

TEST_CASE_FIXTURE(admin_fixture, "a record sent to the admin actor is on the audit log when it answers - or refused when it cannot be") {
  audit_record rec{"CN=gateway", "failover", "n2 -> n3", "requested"};
  auto written = ask_void(admin_record_atom::value, rec);
  REQUIRE_MESSAGE(written == caf::none, sys.render(written));
  auto lines = audit();
  REQUIRE(lines.size() == 1);
  CHECK(lines[0]["who"] == "CN=gateway");
  CHECK(lines[0]["op"] == "failover");
  CHECK(lines[0]["target"] == "n2 -> n3");
  CHECK(lines[0]["result"] == "requested");
  REQUIRE(std::rename(audit_path.c_str(), (audit_path + ".away").c_str()) == 0);
  REQUIRE(::mkdir(audit_path.c_str(), 0700) == 0);
  auto refused = ask_void(admin_record_atom::value, rec);
  REQUIRE(refused != caf::none);
  CHECK(is(refused, errc::audit_failed));
  CHECK(sys.render(refused).find("the audit log " + audit_path + " cannot be written") != std::string::npos);
}
