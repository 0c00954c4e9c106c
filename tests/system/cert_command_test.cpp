// Black-box tests of `cafmcp cert`: the real binary writing into a temporary certificates directory.

#include <iterator>
#include <regex>
#include <sstream>

#include <doctest/doctest.h>

#include "tests/support/process.hpp"

using namespace cafmcp::test;

namespace {

const std::string binary = CAFMCP_BINARY;

run_result cert(const temp_dir& dir, std::vector<std::string> args) {
  std::vector<std::string> argv{binary, "cert"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--certs-dir", dir.path() + "/certs"});
  return run(argv);
}

/// The cells of the `cert list` row for `file` (none if it is missing).
std::vector<std::string> row(const std::string& table, const std::string& file) {
  std::istringstream lines{table};
  for (std::string line; std::getline(lines, line);) {
    std::istringstream cells{line};
    std::vector<std::string> out{std::istream_iterator<std::string>{cells}, {}};
    if (!out.empty() && out[0] == file)
      return out;
  }
  return {};
}

} // namespace

TEST_CASE("cafmcp cert creates a CA, a node and a viewer client, and lists them") {
  temp_dir dir;
  auto certs = dir.path() + "/certs";
  auto ca = cert(dir, {"create-ca"});
  REQUIRE_MESSAGE(ca.code == 0, ca.err);
  CHECK(ca.out.find(certs + "/ca.crt") != std::string::npos);
  CHECK(ca.out.find(certs + "/ca.key") != std::string::npos);
  auto node = cert(dir, {"create-node", "n1", "--host", "10.0.0.1", "--host", "n1.example"});
  REQUIRE_MESSAGE(node.code == 0, node.err);
  CHECK(node.out.find(certs + "/node.n1.crt") != std::string::npos);
  CHECK(node.out.find(certs + "/node.n1.key") != std::string::npos);
  auto client = cert(dir, {"create-client", "ann", "--role", "viewer"});
  REQUIRE_MESSAGE(client.code == 0, client.err);
  CHECK(client.out.find(certs + "/client.ann.crt") != std::string::npos);
  auto list = cert(dir, {"list"});
  REQUIRE_MESSAGE(list.code == 0, list.err);
  INFO(list.out);
  CHECK(list.out.rfind("FILE", 0) == 0);
  CHECK(list.out.find("EXPIRES") != std::string::npos);
  auto ca_row = row(list.out, "ca.crt");
  REQUIRE(ca_row.size() == 6);
  CHECK(ca_row[1] == "ca");
  CHECK(ca_row[3] == "-");
  CHECK(ca_row[5].size() == 16);
  auto node_row = row(list.out, "node.n1.crt");
  REQUIRE(node_row.size() == 6);
  CHECK(node_row[1] == "node");
  CHECK(node_row[2] == "n1");
  CHECK(node_row[3] == "node");
  auto client_row = row(list.out, "client.ann.crt");
  REQUIRE(client_row.size() == 6);
  CHECK(client_row[1] == "client");
  CHECK(client_row[2] == "ann");
  CHECK(client_row[3] == "viewer");
  CHECK(std::regex_match(client_row[4], std::regex{R"(\d{4}-\d{2}-\d{2})"}));
}

TEST_CASE("cafmcp cert create-client defaults to the viewer role") {
  temp_dir dir;
  REQUIRE(cert(dir, {"create-ca"}).code == 0);
  auto client = cert(dir, {"create-client", "bob"});
  REQUIRE_MESSAGE(client.code == 0, client.err);
  CHECK(client.out.find("role viewer") != std::string::npos);
}

TEST_CASE("cafmcp cert create-ca a second time fails with exit 1 and keeps the CA") {
  temp_dir dir;
  REQUIRE(cert(dir, {"create-ca"}).code == 0);
  auto before = read_file(dir.path() + "/certs/ca.crt");
  auto again = cert(dir, {"create-ca"});
  CHECK(again.code == 1);
  CHECK(again.err.rfind("cafmcp cert: ", 0) == 0);
  CHECK(read_file(dir.path() + "/certs/ca.crt") == before);
}

TEST_CASE("cafmcp cert create-client with an unknown role is a usage error that names the roles") {
  temp_dir dir;
  REQUIRE(cert(dir, {"create-ca"}).code == 0);
  auto r = cert(dir, {"create-client", "ann", "--role", "root"});
  CHECK(r.code == 2);
  CHECK(r.err.find("admin") != std::string::npos);
  CHECK(r.err.find("viewer") != std::string::npos);
}

TEST_CASE("cafmcp cert create-node without a CA fails with exit 1 and names the missing file") {
  temp_dir dir;
  auto r = cert(dir, {"create-node", "n1"});
  CHECK(r.code == 1);
  CHECK(r.err.rfind("cafmcp cert: ", 0) == 0);
  CHECK(r.err.find(dir.path() + "/certs/ca.crt") != std::string::npos);
}

TEST_CASE("cafmcp cert create-node with a bad name fails with exit 1") {
  temp_dir dir;
  REQUIRE(cert(dir, {"create-ca"}).code == 0);
  auto r = cert(dir, {"create-node", "a/b"});
  CHECK(r.code == 1);
  CHECK(r.err.find("bad node name") != std::string::npos);
}
