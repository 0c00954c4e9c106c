// plan_experiment: an operator's experiment spec checked against the node's chaos limits.

#include <doctest/doctest.h>

#include "observability/chaos.hpp"

using namespace cafmcp::observability;
using namespace std::chrono_literals;

namespace {

std::string refusal(const std::string& spec, chaos_config cfg = {}) {
  auto p = plan_experiment(spec, cfg);
  auto* why = std::get_if<std::string>(&p);
  return why ? *why : "(planned)";
}

experiment_plan plan(const std::string& spec, chaos_config cfg = {}) {
  auto p = plan_experiment(spec, cfg);
  REQUIRE_MESSAGE(std::holds_alternative<experiment_plan>(p), std::get<std::string>(p));
  return std::get<experiment_plan>(p);
}

} // namespace

TEST_CASE("each kind of experiment is planned with its parameters and said in words") {
  auto kill = plan(R"({"kind": "kill", "target": "/root/observability_sup/*", "interval_ms": 100, "duration_ms": 10000})");
  CHECK(kill.interval == 100ms);
  CHECK(kill.duration == 10000ms);
  CHECK(kill.what == "kill an actor under /root/observability_sup/* every 100 ms");
  auto drop = plan(R"({"kind": "drop", "from": "n1", "probability": 0.3, "duration_ms": 5000})");
  CHECK(drop.network.from == "n1");
  CHECK(drop.network.to == "*");
  CHECK(drop.what == "drop 30% of the messages from n1 to *");
  CHECK(plan(R"({"kind": "delay", "to": "n2", "delay_ms": 200, "duration_ms": 1000})").network.delay == 200ms);
  auto stall = plan(R"({"kind": "tool_stall", "tool": "search", "delay_ms": 500, "duration_ms": 1000})");
  CHECK(stall.tool.stall == 1);
  CHECK(stall.what == "stall 100% of the calls of tool search by 500 ms");
  CHECK(plan(R"({"kind": "memory", "bytes": 1048576, "duration_ms": 1000})").what == "hold 1 MiB of memory");
}

TEST_CASE("an experiment outside the limits or with a typo is refused, saying why") {
  chaos_config cfg;
  cfg.max_duration = 60000ms;
  cfg.max_memory_bytes = 1 << 20;
  CHECK(refusal("not json") .rfind("an experiment is a JSON object", 0) == 0);
  CHECK(refusal(R"({"kind": "nuke", "duration_ms": 1000})") == "\"kind\" must be kill, drop, delay, tool_fail, tool_stall or memory");
  CHECK(refusal(R"({"kind": "drop", "probability": 0.5})") == "\"duration_ms\" is required");
  CHECK(refusal(R"({"kind": "drop", "probability": 0.5, "duration_ms": 60001})", cfg)
        == "\"duration_ms\" must be an integer from 1 to 60000");
  CHECK(refusal(R"({"kind": "drop", "probability": 0, "duration_ms": 1000})")
        == "\"probability\" must be a number above 0 and at most 1");
  CHECK(refusal(R"({"kind": "drop", "probability": 0.5, "duration_ms": 1000, "form": "n1"})")
        == "unknown key \"form\" for a drop experiment");
  CHECK(refusal(R"({"kind": "kill", "target": "observability_sup", "duration_ms": 1000})").find("under /root") != std::string::npos);
  CHECK(refusal(R"({"kind": "kill", "target": "/root/*", "interval_ms": 1, "duration_ms": 1000})")
        == "\"interval_ms\" must be an integer from 10 to 3600000");
  CHECK(refusal(R"({"kind": "memory", "bytes": 2097152, "duration_ms": 1000})", cfg)
        == "\"bytes\" must be an integer from 1 to 1048576");
}
