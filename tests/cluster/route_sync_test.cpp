// cluster/route_sync against a stand-in replicator: a version taken by another
// change is built on, a write that failed part way is read back, members find
// newer versions by the head and past a head that lags.

#include <doctest/doctest.h>

#include <map>
#include <variant>
#include <mutex>
#include <thread>

#include "actors/errors.hpp"
#include "actors/messages.hpp"
#include "actors/name_table.hpp"
#include "cluster/errors.hpp"
#include "cluster/messages.hpp"
#include "cluster/route_sync.hpp"
#include "protocol/route_document.hpp"
#include "protocol/upstream.hpp"
#include "tests/support/actor_fixture.hpp"

using namespace cafmcp;
using namespace cafmcp::test;
using protocol::route_document;
using nlohmann::json;

namespace {

/// The records a stand-in replicator holds, and a hook run on each create
/// (it may change the records; an error it returns is the answer).
struct fake_store {
  std::mutex mtx;
  std::map<std::string, actors::session_record> records;
  std::function<std::optional<caf::error>(const std::string& id, const std::string& info)> on_create;

  void put(const std::string& id, const std::string& info) {
    std::lock_guard<std::mutex> guard{mtx};
    actors::session_record r;
    r.id = id;
    r.info = info;
    records[id] = r;
  }
};

caf::behavior fake_replicator(caf::event_based_actor*, std::shared_ptr<fake_store> s) {
  return {
    [s](actors::session_get_atom, const std::string& id) -> caf::result<actors::session_record> {
      std::lock_guard<std::mutex> guard{s->mtx};
      auto i = s->records.find(id);
      if (i == s->records.end())
        return actors::make_error(actors::errc::not_found, "no session " + id);
      return i->second;
    },
    [s](actors::session_create_atom, int64_t, const std::string& id,
        const std::string& info) -> caf::result<actors::session_record> {
      std::lock_guard<std::mutex> guard{s->mtx};
      if (s->on_create)
        if (auto err = s->on_create(id, info))
          return std::move(*err);
      if (s->records.count(id))
        return actors::make_error(actors::errc::invalid_argument, "session id " + id + " is taken");
      actors::session_record r;
      r.id = id;
      r.info = info;
      s->records[id] = r;
      return r;
    },
    [s](actors::session_info_atom, const std::string& id, const std::string& info) -> caf::result<caf::ok_atom> {
      std::lock_guard<std::mutex> guard{s->mtx};
      auto i = s->records.find(id);
      if (i == s->records.end())
        return actors::make_error(actors::errc::not_found, "no session " + id);
      i->second.info = info;
      return caf::ok_atom::value;
    },
    [s](actors::session_delete_atom, const std::string& id) -> caf::result<caf::ok_atom> {
      std::lock_guard<std::mutex> guard{s->mtx};
      if (s->records.erase(id) == 0)
        return actors::make_error(actors::errc::not_found, "no session " + id);
      return caf::ok_atom::value;
    },
  };
}

std::string doc_text(uint64_t version, json routes) {
  return route_document{version, std::move(routes)}.to_text();
}

const json other_rule = {{"name", "b"}, {"targets", {{{"tool", "x"}}}}};
const char* my_rule = R"({"name": "a", "targets": [{"tool": "y"}]})";

struct sync_fixture : fixture {
  std::shared_ptr<fake_store> store = std::make_shared<fake_store>();
  std::shared_ptr<actors::name_table> names = actors::name_table::make();
  std::shared_ptr<protocol::live_routes> live = std::make_shared<protocol::live_routes>();
  caf::actor routing;
  // The upstreams the node was told to run, in order.
  std::mutex runs_mtx;
  std::vector<json> runs;
  const json config_upstreams{
    {"local", config::validate(json{{"url", "http://127.0.0.1:9/mcp"}}, protocol::upstream_config_schema())}};
  const json config_tenants{{"cfg", config::validate(json{{"tools", {"echo"}}}, protocol::tenant_config_schema())}};
  std::shared_ptr<protocol::tenant_policy> tenants =
    std::make_shared<protocol::tenant_policy>(protocol::parse_tenants(config_tenants));

  sync_fixture() {
    auto replicator = sys.spawn(fake_replicator, store);
    cleanup.push_back(replicator);
    names->assign("replicator", replicator);
    cluster::route_sync_config cfg;
    cfg.live = live;
    cfg.poll = std::chrono::milliseconds{20};
    cfg.timeout = std::chrono::milliseconds{2000};
    cfg.config_upstreams = config_upstreams;
    cfg.run_time_programs = {"/bin/true"};
    cfg.config_tenants = config_tenants;
    cfg.tenants = tenants;
    cfg.run_upstreams = [this](const json& wanted) {
      std::lock_guard<std::mutex> guard{runs_mtx};
      runs.push_back(wanted);
    };
    auto sup = start_sup({supervision::strategy::one_for_one, 5, 60000ms}, {cluster::route_sync_spec(cfg, names)});
    REQUIRE(supervision::await_started(sys, sup, 5s) == caf::none);
    routing = names->lookup("routing");
    REQUIRE(routing);
  }

  /// The answer of a change: the new version's document, or the error's text.
  std::variant<route_document, std::string> ask(caf::message msg) {
    std::variant<route_document, std::string> out{std::string{"no answer"}};
    self->request(routing, 10s, std::move(msg))
      .receive([&](std::string& text) { out = *route_document::from_text(text); },
               [&](caf::error& err) { out = sys.render(err); });
    return out;
  }

  uint64_t live_version() {
    auto t = live->current();
    return t ? t->version() : 1;
  }

  /// The head record's text once it names `v`, or after 4 s (the head
  /// moves after the change is answered).
  std::string wait_head(const std::string& v) {
    std::string head;
    for (int i = 0; i < 200; ++i) { // bounded: 4 s
      {
        std::lock_guard<std::mutex> guard{store->mtx};
        head = store->records.count("cafmcp.routes.head") ? store->records["cafmcp.routes.head"].info : "";
      }
      if (head == v)
        break;
      std::this_thread::sleep_for(20ms);
    }
    return head;
  }

  bool wait_live(uint64_t v) {
    for (int i = 0; i < 200 && live_version() != v; ++i) // bounded: 4 s
      std::this_thread::sleep_for(20ms);
    return live_version() == v;
  }
};

} // namespace

TEST_CASE_FIXTURE(sync_fixture, "a rules version another change made first is built on - both changes are kept") {
  bool raced = false;
  store->on_create = [&](const std::string& id, const std::string&) -> std::optional<caf::error> {
    if (id == "cafmcp.routes.2" && !raced) { // another member's change lands just before ours
      raced = true;
      actors::session_record r;
      r.id = id;
      r.info = doc_text(2, {{"other", other_rule}});
      store->records[id] = r;
    }
    return std::nullopt;
  };
  auto made = ask(caf::make_message(cluster::routes_add_atom::value, std::string{"mine"}, std::string{my_rule}, false));
  REQUIRE(std::holds_alternative<route_document>(made));
  auto& doc = std::get<route_document>(made);
  CHECK(raced);
  CHECK(doc.version == 3);
  CHECK(doc.routes.contains("other"));
  CHECK(doc.routes.contains("mine"));
  CHECK(live_version() == 3);
  CHECK(wait_head("3") == "3");
  std::lock_guard<std::mutex> guard{store->mtx};
  CHECK(store->records.count("cafmcp.routes.3") == 1);
}

TEST_CASE_FIXTURE(sync_fixture, "a rules write that failed part way is reported made when it holds the change, else as failed") {
  store->on_create = [&](const std::string& id, const std::string& info) -> std::optional<caf::error> {
    if (id == "cafmcp.routes.2") { // written on the primary, too few replicas in time
      actors::session_record r;
      r.id = id;
      r.info = info;
      store->records[id] = r;
      return cluster::make_error(cluster::errc::no_quorum, "1 of 2 replicas acknowledged in time");
    }
    if (id == "cafmcp.routes.3")
      return cluster::make_error(cluster::errc::no_quorum, "no replica acknowledged in time");
    return std::nullopt;
  };
  auto made = ask(caf::make_message(cluster::routes_add_atom::value, std::string{"mine"}, std::string{my_rule}, false));
  REQUIRE(std::holds_alternative<route_document>(made));
  CHECK(std::get<route_document>(made).version == 2);
  auto failed = ask(caf::make_message(cluster::routes_remove_atom::value, std::string{"mine"}));
  REQUIRE(std::holds_alternative<std::string>(failed));
  CHECK(std::get<std::string>(failed).find("no replica acknowledged in time") != std::string::npos);
  CHECK(live_version() == 2); // nothing changed
  auto bad = ask(caf::make_message(cluster::routes_remove_atom::value, std::string{"nothere"}));
  REQUIRE(std::holds_alternative<std::string>(bad));
  CHECK(std::get<std::string>(bad).find("no route nothere (rules version 2)") != std::string::npos);
}

TEST_CASE_FIXTURE(sync_fixture, "a member applies the version the head names, and one past a head that lags") {
  CHECK(wait_live(1));
  store->put("cafmcp.routes.2", doc_text(2, {{"other", other_rule}}));
  store->put("cafmcp.routes.head", "2");
  CHECK(wait_live(2));
  REQUIRE(live->current());
  CHECK(live->current()->rules().size() == 1);
  // Made by a member that died before it moved the head: found on a thorough look.
  store->put("cafmcp.routes.3", doc_text(3, {{"other", other_rule}, {"third", other_rule}}));
  CHECK(wait_live(3));
  CHECK(live->current()->rules().size() == 2);
  auto got = ask(caf::make_message(cluster::routes_get_atom::value));
  REQUIRE(std::holds_alternative<route_document>(got));
  CHECK(std::get<route_document>(got).version == 3);
}

TEST_CASE_FIXTURE(sync_fixture, "an upstream added at run time is in the next version and the node is told to run it - removed, it is told to stop") {
  auto added = ask(caf::make_message(cluster::upstreams_add_atom::value, std::string{"mirror"},
                                     std::string{R"({"url": "http://127.0.0.1:1/mcp", "headers": ["X-Key: s3cret"]})"},
                                     false));
  REQUIRE(std::holds_alternative<route_document>(added));
  auto& v2 = std::get<route_document>(added);
  CHECK(v2.version == 2);
  REQUIRE(v2.upstreams);
  CHECK(v2.upstreams->contains("local")); // the config's stay
  CHECK((*v2.upstreams)["mirror"]["headers"] == json{"X-Key: ***"}); // the answer is masked
  {
    std::lock_guard<std::mutex> guard{store->mtx};
    CHECK(store->records["cafmcp.routes.2"].info.find("X-Key: s3cret") != std::string::npos); // the record is not
  }
  {
    std::lock_guard<std::mutex> guard{runs_mtx};
    REQUIRE(runs.size() == 1);
    CHECK(runs[0].contains("local"));
    CHECK(runs[0]["mirror"]["headers"] == json{"X-Key: s3cret"});
  }
  auto again = ask(caf::make_message(cluster::upstreams_add_atom::value, std::string{"mirror"},
                                     std::string{R"({"url": "http://127.0.0.1:2/mcp"})"}, false));
  REQUIRE(std::holds_alternative<std::string>(again));
  CHECK(std::get<std::string>(again).find("upstream mirror exists already") != std::string::npos);
  auto program = ask(caf::make_message(cluster::upstreams_add_atom::value, std::string{"py"},
                                       std::string{R"({"command": ["/usr/bin/python3"]})"}, false));
  REQUIRE(std::holds_alternative<std::string>(program));
  CHECK(std::get<std::string>(program).find("program /usr/bin/python3 is not in cluster.run_time_programs")
        != std::string::npos);
  auto allowed = ask(caf::make_message(cluster::upstreams_add_atom::value, std::string{"ok"},
                                       std::string{R"({"command": ["/bin/true"]})"}, false));
  REQUIRE(std::holds_alternative<route_document>(allowed));
  CHECK(std::get<route_document>(allowed).version == 3);
  // A rule change leaves the upstreams as they are: nobody is told to run anything.
  auto rule = ask(caf::make_message(cluster::routes_add_atom::value, std::string{"mine"}, std::string{my_rule}, false));
  REQUIRE(std::holds_alternative<route_document>(rule));
  auto removed = ask(caf::make_message(cluster::upstreams_remove_atom::value, std::string{"local"}));
  REQUIRE(std::holds_alternative<route_document>(removed));
  CHECK(std::get<route_document>(removed).version == 5);
  CHECK(std::get<route_document>(removed).routes.contains("mine"));
  std::lock_guard<std::mutex> guard{runs_mtx};
  REQUIRE(runs.size() == 3);
  CHECK_FALSE(runs[2].contains("local"));
  CHECK(runs[2].contains("mirror"));
  CHECK(runs[2].contains("ok"));
}

TEST_CASE_FIXTURE(sync_fixture, "a member that finds a version naming other upstreams is told to run them - one without upstreams keeps its config's") {
  store->put("cafmcp.routes.2", doc_text(2, {{"other", other_rule}}));
  store->put("cafmcp.routes.head", "2");
  CHECK(wait_live(2));
  {
    std::lock_guard<std::mutex> guard{runs_mtx};
    CHECK(runs.empty());
  }
  route_document v3{3, {{"other", other_rule}}, json::object()};
  store->put("cafmcp.routes.3", v3.to_text());
  store->put("cafmcp.routes.head", "3");
  CHECK(wait_live(3));
  std::lock_guard<std::mutex> guard{runs_mtx};
  REQUIRE(runs.size() == 1);
  CHECK(runs[0].empty());
}

TEST_CASE_FIXTURE(sync_fixture, "a tenant added at run time is applied by the node with its version - a version the node cannot read changes nothing") {
  CHECK(tenants->restricts("cfg"));
  auto added = ask(caf::make_message(cluster::tenants_add_atom::value, std::string{"acme"},
                                     std::string{R"({"tools": ["everything.*"], "rate": "5/1"})"}, false));
  REQUIRE(std::holds_alternative<route_document>(added));
  auto& v2 = std::get<route_document>(added);
  CHECK(v2.version == 2);
  REQUIRE(v2.tenants);
  CHECK(v2.tenants->contains("cfg")); // the config's stay
  CHECK(tenants->restricts("acme"));
  CHECK(tenants->sees("acme", "everything.echo"));
  CHECK_FALSE(tenants->sees("acme", "echo"));
  CHECK(tenants->restricts("cfg"));
  auto bad = ask(caf::make_message(cluster::tenants_add_atom::value, std::string{"b"}, std::string{R"({"rate": "x"})"},
                                   false));
  REQUIRE(std::holds_alternative<std::string>(bad));
  CHECK(std::get<std::string>(bad).find("\"tenants.b.rate\"") != std::string::npos);
  auto removed = ask(caf::make_message(cluster::tenants_remove_atom::value, std::string{"cfg"}));
  REQUIRE(std::holds_alternative<route_document>(removed));
  CHECK(std::get<route_document>(removed).version == 3);
  CHECK_FALSE(tenants->restricts("cfg"));
  CHECK(tenants->sees("cfg", "add"));

  // Made elsewhere by a build that reads tenants differently: not applied, nothing half-changed.
  route_document v4{4, {{"other", other_rule}}, std::nullopt, json{{"zed", {{"tools", "not a list"}}}}};
  store->put("cafmcp.routes.4", v4.to_text());
  store->put("cafmcp.routes.head", "4");
  // A change reads the newest version first (so the node has tried version
  // 4 when it answers) and builds on it; the result cannot be used either.
  auto late = ask(caf::make_message(cluster::tenants_add_atom::value, std::string{"late"}, std::string{"{}"}, false));
  REQUIRE(std::holds_alternative<route_document>(late));
  CHECK(std::get<route_document>(late).version == 5);
  CHECK(live_version() == 1); // version 4's rule is not applied without its tenants
  CHECK_FALSE(tenants->restricts("zed"));
  CHECK_FALSE(tenants->restricts("late"));
  CHECK(tenants->restricts("acme"));
}
