// The admin shell's line handling, without a cluster.

#include <stdexcept>

#include <doctest/doctest.h>

#include "cli/shell.hpp"

using cafmcp::cli::shell;

TEST_CASE("the shell splits a line into words - quotes group, a backslash escapes, JSON runs to the end") {
  using words = std::vector<std::string>;
  CHECK(shell::split_words("  tree   n2:/root  ") == words{"tree", "n2:/root"});
  CHECK(shell::split_words("session \"a b\" 'c d' e\\ f") == words{"session", "a b", "c d", "e f"});
  CHECK(shell::split_words(R"(start_child /root/x {"id": "a b", "actor_type": "t"}  )")
        == words{"start_child", "/root/x", R"({"id": "a b", "actor_type": "t"})"});
  CHECK(shell::split_words("") == words{});
  CHECK(shell::split_words("say \"\"") == words{"say", ""});
  CHECK_THROWS_AS(shell::split_words("tree \"n2"), std::invalid_argument);
}

TEST_CASE("an unknown command is matched to the closest one - or to none when nothing is close") {
  CHECK(shell::closest_command("tre") == "tree");
  CHECK(shell::closest_command("whichchildren") == "which_children");
  CHECK(shell::closest_command("restart") == "restart_child");
  CHECK(shell::closest_command("kil") == "kill");
  CHECK(shell::closest_command("xyzzy-plugh") == "");
}

TEST_CASE("every shell command has a usage line starting with its name and a summary") {
  for (auto& c : shell::commands()) {
    CHECK(c.usage.rfind(c.name, 0) == 0);
    CHECK_FALSE(c.summary.empty());
  }
}
