// The shell's command table: help, dispatch and completion read the same rows.

#include <algorithm>
#include <set>
#include <sstream>

#include <doctest/doctest.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/sec.hpp>

#include "cli/shell.hpp"

using cafmcp::cli::shell;

namespace {

struct offline_shell {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  int attempts = 0;
  shell sh{sys,
           [this]() -> caf::expected<caf::actor> {
             ++attempts;
             return caf::make_error(caf::sec::cannot_connect_to_node);
           },
           "127.0.0.1:1", "test", false};
};

} // namespace

TEST_CASE("an unknown shell command is bad usage with a suggestion - without contacting the node") {
  offline_shell s;
  std::ostringstream out, err;
  CHECK(s.sh.execute("whichchildren /root", out, err) == 2);
  CHECK(err.str().find("unknown command whichchildren; did you mean which_children?") != std::string::npos);
  CHECK(out.str().empty());
  CHECK(s.attempts == 0);
}

TEST_CASE("shell help lists every command of the table") {
  offline_shell s;
  std::ostringstream out, err;
  REQUIRE(s.sh.execute("help", out, err) == 0);
  for (auto& c : shell::commands())
    CHECK_MESSAGE(out.str().find(c.usage) != std::string::npos, c.name);
  CHECK(s.attempts == 0);
}

TEST_CASE("shell help COMMAND explains it from the table - and refuses an unknown one") {
  offline_shell s;
  std::ostringstream out, err;
  REQUIRE(s.sh.execute("help start_child", out, err) == 0);
  CHECK(out.str().find("start_child [NODE:]PATH SPEC") != std::string::npos);
  CHECK(out.str().find("SPEC is JSON") != std::string::npos);
  CHECK(s.sh.execute("help tre", out, err) == 2);
  CHECK(err.str().find("no command tre; did you mean tree?") != std::string::npos);
  CHECK(s.sh.execute("help tree kill", out, err) == 2);
  CHECK(err.str().find("usage: help [COMMAND]") != std::string::npos);
}

TEST_CASE("every shell command has a handler and unique name - completion offers each, and exit") {
  offline_shell s;
  std::set<std::string> names;
  for (auto& c : shell::commands()) {
    CHECK_MESSAGE(c.run != nullptr, c.name);
    CHECK_MESSAGE(names.insert(c.name).second, c.name);
  }
  auto all = s.sh.complete("", "");
  CHECK(all.size() == names.size() + 1);
  for (auto& n : names)
    CHECK(std::find(all.begin(), all.end(), n) != all.end());
  CHECK(std::find(all.begin(), all.end(), "exit") != all.end());
  CHECK(s.sh.complete("", "wh") == std::vector<std::string>{"which_children"});
  CHECK(s.sh.complete("help ", "co") == std::vector<std::string>{"count_children"});
  CHECK(s.sh.complete("watch ", "") == std::vector<std::string>{"status"});
  CHECK(s.sh.complete("session ", "").empty());
  CHECK(s.sh.complete("nosuch ", "").empty());
}

TEST_CASE("quit and exit end the shell without a node") {
  offline_shell s;
  std::ostringstream out, err;
  CHECK(s.sh.execute("exit", out, err) == 0);
  CHECK(s.sh.quit_requested());
  CHECK(s.attempts == 0);
}

TEST_CASE("a command that needs the node says when it cannot reach it") {
  offline_shell s;
  std::ostringstream out, err;
  CHECK(s.sh.execute("nodes", out, err) == 1);
  CHECK(err.str().find("cannot reach 127.0.0.1:1") != std::string::npos);
  CHECK(s.attempts == 1);
}
