// fault_injection: what chaos experiments do to messages and tool calls, with the time passed in.

#include <doctest/doctest.h>

#include "actors/fault_injection.hpp"

using namespace cafmcp::actors;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

TEST_CASE("with no fault a message and a tool call pass untouched") {
  fault_injection f;
  auto now = clock_type::now();
  CHECK_FALSE(f.on_message("n1", "n2", now).drop);
  CHECK(f.on_tool_call("echo", now).delay == 0ms);
  CHECK(f.injected().empty());
}

TEST_CASE("a drop fault drops about its share of the matching messages and none of the others") {
  fault_injection f;
  auto now = clock_type::now();
  f.add("drop-1", network_fault{"n1", "*", 0.3, 0ms}, now + 10s);
  int dropped = 0;
  for (int i = 0; i < 10000; ++i)
    dropped += f.on_message("n1", "n2", now).drop;
  CHECK(dropped > 2500);
  CHECK(dropped < 3500);
  for (int i = 0; i < 1000; ++i)
    CHECK_FALSE(f.on_message("n2", "n1", now).drop);
  CHECK(f.injected().at("drop-1") == static_cast<uint64_t>(dropped));
}

TEST_CASE("a fault ends at its deadline by itself, and at once when removed") {
  fault_injection f;
  auto now = clock_type::now();
  f.add("delay-1", network_fault{"*", "n2", 0, 200ms}, now + 1s);
  f.add("tool_fail-2", tool_fault{"ech?", 1, 0, 0ms}, now + 1h);
  auto v = f.on_message("n3", "n2", now + 999ms);
  CHECK(v.delay == 200ms);
  CHECK(v.experiment == "delay-1");
  CHECK(f.on_message("n3", "n2", now + 1s).delay == 0ms);
  CHECK(f.on_tool_call("echo", now).drop);
  CHECK_FALSE(f.on_tool_call("add", now).drop);
  f.remove("tool_fail-2");
  CHECK_FALSE(f.on_tool_call("echo", now).drop);
}

TEST_CASE("a stall fault holds every matching call for its delay") {
  fault_injection f;
  auto now = clock_type::now();
  f.add("tool_stall-1", tool_fault{"*", 0, 1, 500ms}, now + 1s);
  auto v = f.on_tool_call("search", now);
  CHECK_FALSE(v.drop);
  CHECK(v.delay == 500ms);
}
