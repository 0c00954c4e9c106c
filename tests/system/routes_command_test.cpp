// Black-box tests of `cafmcp routes list|test`: the real binary on a config file.

#include <doctest/doctest.h>

#include "tests/support/process.hpp"

using namespace cafmcp::test;

namespace {

const std::string binary = CAFMCP_BINARY;

const char* config = R"({"routes": {
  "spread": {"name": "everything.*", "targets": [{"namespace": "everything", "weight": 3}, {"namespace": "mirror"}],
             "fallbacks": [{"namespace": "backup"}]},
  "canary": {"priority": 10, "tenant": "acme", "name": "everything.echo", "headers": {"X-Canary": "1"},
             "targets": [{"tool": "mirror.echo"}]}}})";

run_result routes(std::vector<std::string> args) {
  std::vector<std::string> argv{binary, "routes"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv);
}

} // namespace

TEST_CASE("cafmcp routes list shows the rules in the order a node tries them") {
  temp_dir dir;
  auto file = dir.write("node.json", config);
  auto r = routes({"list", "--config", file});
  CHECK(r.code == 0);
  auto canary = r.out.find("\ncanary ");
  auto spread = r.out.find("\nspread ");
  CHECK(canary != std::string::npos);
  CHECK(spread != std::string::npos);
  CHECK(canary < spread); // priority 10 first
  CHECK(r.out.find("namespace everything (weight 3), namespace mirror") != std::string::npos);
}

TEST_CASE("cafmcp routes test explains the match, the unavailable targets and a refusal by its exit code") {
  temp_dir dir;
  auto file = dir.write("node.json", config);
  auto r = routes({"test", "--config", file, "--name", "everything.echo", "--tenant", "acme", "--down", "everything.echo"});
  CHECK(r.code == 0);
  CHECK(r.out == "rules version 1, 2 rules\n"
                 "route canary (priority 10): no: header x-canary is absent\n"
                 "route spread (priority 0): MATCHES: targets everything.echo weight 3 (unavailable), mirror.echo "
                 "weight 1; fallbacks backup.echo\n");
  auto canary = routes({"test", "--config", file, "--name", "everything.echo", "--tenant", "acme", "--header", "X-Canary: 1"});
  CHECK(canary.code == 0);
  CHECK(canary.out.find("route canary (priority 10): MATCHES: targets mirror.echo weight 1\n") != std::string::npos);
  auto none = routes({"test", "--config", file, "--name", "add"});
  CHECK(none.code == 0);
  CHECK(none.out.find("no rule matches: the call goes to add itself") != std::string::npos);
  auto refused = routes({"test", "--config", file, "--name", "everything.echo", "--down", "everything.echo", "--down",
                         "mirror.echo", "--down", "backup.echo"});
  CHECK(refused.code == 1);
  CHECK(refused.out.find("refused: nothing of route spread is available (-32031)") != std::string::npos);
}

TEST_CASE("cafmcp routes refuses a bad config or header with the key named and exit code 2") {
  temp_dir dir;
  auto bad = dir.write("bad.json", R"({"routes": {"x": {"targets": [{"namespace": "a", "weight": 0}]}}})");
  auto r = routes({"test", "--config", bad, "--name", "a"});
  CHECK(r.code == 2);
  CHECK(r.err.find("\"routes.x.targets[0].weight\": must be an integer from 1 to 1000000, got 0") != std::string::npos);
  auto file = dir.write("node.json", config);
  auto h = routes({"test", "--config", file, "--name", "a", "--header", "nocolon"});
  CHECK(h.code == 2);
  CHECK(h.err.find("--header needs \"Name: value\"") != std::string::npos);
}
