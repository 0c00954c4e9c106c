// The replicated task record, the cancel outcome and the takeover's failed state: formats pinned.
#include <doctest/doctest.h>

#include "protocol/cancel_outcome.hpp"
#include "protocol/replicated_tasks.hpp"
#include "protocol/task_record.hpp"
#include "protocol/task_registry.hpp"

using namespace cafmcp::protocol;
using nlohmann::json;

namespace {

// A record as nodes before the typed record wrote it (cli/replicated_tasks.cpp).
const char* old_record = R"({"arguments":{"a":1,"b":2},"idempotent":true,"kind":"task","owner":"n1",)"
                         R"("resumed":false,"tool":"add"})";

task_record sample() {
  task_record r;
  r.owner = "n1";
  r.tool = "add";
  r.arguments = json{{"a", 1}, {"b", 2}};
  r.idempotent = true;
  return r;
}

} // namespace

TEST_CASE("a task record survives a round trip through JSON") {
  auto r = sample();
  r.resumed = true;
  auto back = task_record::from_json(r.to_json());
  REQUIRE(back);
  CHECK(back->owner == "n1");
  CHECK(back->tool == "add");
  CHECK(back->arguments == json{{"a", 1}, {"b", 2}});
  CHECK(back->idempotent);
  CHECK(back->resumed);
  auto text = task_record::from_info(r.to_json().dump());
  REQUIRE(text);
  CHECK(text->to_json() == r.to_json());
}

TEST_CASE("a task record is written with the field names records on disk already have") {
  CHECK(sample().to_json().dump() == old_record);
}

TEST_CASE("a task record written before the typed record still parses") {
  auto r = task_record::from_info(old_record);
  REQUIRE(r);
  CHECK(r->owner == "n1");
  CHECK(r->tool == "add");
  CHECK(r->arguments == json{{"a", 1}, {"b", 2}});
  CHECK(r->idempotent);
  CHECK_FALSE(r->resumed);
}

TEST_CASE("a task record's optional fields default when missing") {
  auto r = task_record::from_info(R"({"kind":"task","tool":"echo"})");
  REQUIRE(r);
  CHECK(r->owner.empty());
  CHECK(r->arguments == json::object());
  CHECK_FALSE(r->idempotent);
  CHECK_FALSE(r->resumed);
}

TEST_CASE("a record that is not a task record is rejected") {
  CHECK_FALSE(task_record::from_info(""));
  CHECK_FALSE(task_record::from_info("not json"));
  CHECK_FALSE(task_record::from_info("[1,2]"));
  CHECK_FALSE(task_record::from_info(R"({"kind":"legacy_session","tool":"add"})"));
  CHECK_FALSE(task_record::from_info(R"({"tool":"add"})"));
  CHECK_FALSE(task_record::from_info(R"({"kind":"task"})"));
  CHECK_FALSE(task_record::from_info(R"({"kind":"task","tool":7})"));
  CHECK_FALSE(task_record::from_info(R"({"kind":"task","tool":"add","owner":1})"));
  CHECK_FALSE(task_record::from_info(R"({"kind":"task","tool":"add","arguments":[1]})"));
  CHECK_FALSE(task_record::from_info(R"({"kind":"task","tool":"add","idempotent":"yes"})"));
  CHECK_FALSE(task_record::from_info(R"({"kind":"task","tool":"add","resumed":1})"));
}

TEST_CASE("a task state is a JSON object or nothing") {
  CHECK(parse_task_state(R"({"status":"working"})"));
  CHECK_FALSE(parse_task_state(""));
  CHECK_FALSE(parse_task_state("\"working\""));
  CHECK_FALSE(parse_task_state("{broken"));
}

TEST_CASE("only a task record still working names its owner for a takeover") {
  auto info = sample().to_json().dump();
  auto owner = working_task_owner(info, R"({"taskId":"t","status":"working"})");
  REQUIRE(owner);
  CHECK(*owner == "n1");
  CHECK_FALSE(working_task_owner(info, R"({"taskId":"t","status":"completed"})"));
  CHECK_FALSE(working_task_owner(info, R"({"taskId":"t"})"));
  CHECK_FALSE(working_task_owner(info, ""));
  CHECK_FALSE(working_task_owner(R"({"kind":"legacy_session","protocolVersion":"2025-06-18"})",
                                 R"({"status":"working"})"));
  CHECK_FALSE(working_task_owner("", R"({"status":"working"})"));
}

TEST_CASE("cancel outcomes have the wire names task agents answer with") {
  CHECK(to_string(cancel_outcome::cancelled) == "cancelled");
  CHECK(to_string(cancel_outcome::already_ended) == "already_ended");
  CHECK(to_string(cancel_outcome::not_found) == "not_found");
}

TEST_CASE("a cancel outcome round trips through its wire name and anything else is none") {
  for (auto x : {cancel_outcome::cancelled, cancel_outcome::already_ended, cancel_outcome::not_found})
    CHECK(cancel_outcome_from_string(to_string(x)) == x);
  CHECK_FALSE(cancel_outcome_from_string(""));
  CHECK_FALSE(cancel_outcome_from_string("Cancelled"));
  CHECK_FALSE(cancel_outcome_from_string("node n2 did not answer"));
}

TEST_CASE("a task that cannot run again after its node died is failed with a clear error") {
  auto at = std::chrono::system_clock::time_point{} + std::chrono::hours(24 * 365 * 56);
  json last{{"taskId", "t1"}, {"status", "working"}, {"statusMessage", "progress 1 of 3"}, {"pollInterval", 1000}};
  auto failed = failed_task_state(last, "t1", "n1", "tool add is not idempotent, so it is not run again", at);
  CHECK(failed["taskId"] == "t1");
  CHECK(failed["status"] == "failed");
  CHECK_FALSE(failed.contains("statusMessage"));
  CHECK(failed["pollInterval"] == 1000); // the rest of its last state is kept
  CHECK(failed["lastUpdatedAt"] == iso8601(at));
  CHECK(failed["error"]["code"] == -32603);
  CHECK(failed["error"]["message"]
        == "the node running this task (n1) is gone and tool add is not idempotent, so it is not run again");
  auto none = failed_task_state(std::nullopt, "t2", "?", "why", at);
  CHECK(none["taskId"] == "t2");
  CHECK(none["status"] == "failed");
}

TEST_CASE("a task record keeps its tenant - none is written for a task of no tenant") {
  auto r = sample();
  r.tenant = "acme";
  auto back = task_record::from_info(r.to_json().dump());
  REQUIRE(back);
  CHECK(back->tenant == "acme");
  CHECK(sample().to_json().contains("tenant") == false);
  CHECK(task_record::from_info(old_record)->tenant.empty());
  CHECK_FALSE(task_record::from_info(R"({"kind":"task","tool":"echo","tenant":7})"));
}

TEST_CASE("a task is found and cancelled only by its own tenant - to any other its id is unknown") {
  task_registry tasks{task_config{}, std::make_shared<notification_hub>()};
  auto stop = std::make_shared<std::atomic<bool>>(false);
  task_record origin;
  origin.tool = "sleep";
  origin.tenant = "acme";
  auto created = tasks.create("sleep", stop, origin);
  REQUIRE(created);
  auto id = (*created)["taskId"].get<std::string>();
  CHECK(tasks.get(id, "acme"));
  CHECK_FALSE(tasks.get(id, "globex"));
  CHECK_FALSE(tasks.get(id, ""));
  CHECK(tasks.cancel(id, "globex") == cancel_outcome::not_found);
  CHECK(tasks.cancel(id, "") == cancel_outcome::not_found);
  CHECK_FALSE(stop->load());
  CHECK(tasks.get(id)); // the node itself (a takeover, a peer's cancel) sees every task
  CHECK(tasks.cancel(id, "acme") == cancel_outcome::cancelled);
  CHECK(stop->load());
  // A task of no tenant is not any tenant's.
  auto plain = tasks.create("sleep", std::make_shared<std::atomic<bool>>(false));
  REQUIRE(plain);
  auto plain_id = (*plain)["taskId"].get<std::string>();
  CHECK(tasks.get(plain_id, ""));
  CHECK_FALSE(tasks.get(plain_id, "acme"));
}
