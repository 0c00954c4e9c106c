// X.509 certificates: a CA, node and client certificates in a temporary directory, and the checks on them.

#include <algorithm>

#include <sys/stat.h>

#include <doctest/doctest.h>

#include "base/certificate.hpp"
#include "tests/support/process.hpp"

using namespace cafmcp;
using cafmcp::test::temp_dir;

namespace {

mode_t mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

/// A CA with one node (n1) and one client (ann, viewer), the directory
/// itself created by create_ca.
struct cluster_certs {
  temp_dir tmp;
  std::string dir = tmp.path() + "/certs";
  cluster_certs() {
    certs::create_ca(dir);
    certs::create_node(dir, certs::ca_key_path(dir), "n1", {"127.0.0.1", "::1", "localhost"});
    certs::create_client(dir, certs::ca_key_path(dir), "ann", "viewer");
  }
  std::string ca() const { return certs::read_file(certs::ca_cert_path(dir)); }
  std::string node() const { return certs::read_file(certs::node_cert_path(dir, "n1")); }
  std::string node_key() const { return certs::read_file(certs::node_key_path(dir, "n1")); }
  std::string client() const { return certs::read_file(certs::client_cert_path(dir, "ann")); }
};

} // namespace

TEST_CASE("a node certificate verifies against its CA and names the node, OU node, a SHA-256 fingerprint") {
  cluster_certs c;
  std::string why;
  auto id = certs::verify(c.node(), c.ca(), why);
  REQUIRE_MESSAGE(id, why);
  CHECK(id->name == "n1");
  CHECK(id->role == "node");
  CHECK(id->fingerprint.size() == 64);
  auto now = static_cast<int64_t>(std::time(nullptr));
  CHECK(id->not_after > now + 364 * 86400);
  CHECK(id->not_after <= now + 365 * 86400);
}

TEST_CASE("a client certificate carries its role as OU") {
  cluster_certs c;
  std::string why;
  auto id = certs::verify(c.client(), c.ca(), why);
  REQUIRE_MESSAGE(id, why);
  CHECK(id->name == "ann");
  CHECK(id->role == "viewer");
}

TEST_CASE("a certificate does not verify against another CA, and the reason is given") {
  cluster_certs c;
  cluster_certs other;
  std::string why;
  CHECK_FALSE(certs::verify(c.node(), other.ca(), why));
  CHECK(!why.empty());
  CHECK(why.find("issuer") != std::string::npos);
}

TEST_CASE("a certificate verifies against a CA file that holds the old and the new CA (rotation)") {
  cluster_certs c;
  cluster_certs other;
  std::string why;
  CHECK(certs::verify(c.node(), other.ca() + c.ca(), why));
  CHECK(certs::verify(other.node(), other.ca() + c.ca(), why));
}

TEST_CASE("the CA certificate itself is not accepted as a member's") {
  cluster_certs c;
  std::string why;
  CHECK_FALSE(certs::verify(c.ca(), c.ca(), why));
  CHECK(why.find("CA") != std::string::npos);
}

TEST_CASE("verify refuses text that is no certificate, or no CA") {
  cluster_certs c;
  std::string why;
  CHECK_FALSE(certs::verify("hello", c.ca(), why));
  CHECK(why == "not a PEM certificate");
  CHECK_FALSE(certs::verify(c.node(), "", why));
  CHECK(why == "no CA certificate given");
}

TEST_CASE("a signature made with a node's key checks out with its certificate and with nothing else") {
  cluster_certs c;
  auto sig = certs::sign(c.node_key(), "challenge 42");
  CHECK(certs::signature_ok(c.node(), "challenge 42", sig));
  CHECK_FALSE(certs::signature_ok(c.node(), "challenge 43", sig));
  CHECK_FALSE(certs::signature_ok(c.client(), "challenge 42", sig));
  auto other_key = certs::read_file(certs::client_key_path(c.dir, "ann"));
  CHECK_FALSE(certs::signature_ok(c.node(), "challenge 42", certs::sign(other_key, "challenge 42")));
  CHECK_FALSE(certs::signature_ok(c.node(), "challenge 42", "not hex"));
  CHECK_FALSE(certs::signature_ok(c.node(), "challenge 42", ""));
}

TEST_CASE("key_matches tells a certificate's own key from another") {
  cluster_certs c;
  CHECK(certs::key_matches(c.node(), c.node_key()));
  CHECK(certs::key_matches(c.ca(), certs::read_file(certs::ca_key_path(c.dir))));
  CHECK_FALSE(certs::key_matches(c.client(), c.node_key()));
  CHECK_FALSE(certs::key_matches(c.node(), "not a key"));
}

TEST_CASE("key files are 0600 and a created certificates directory 0700") {
  cluster_certs c;
  CHECK(mode_of(c.dir) == 0700);
  CHECK(mode_of(certs::ca_key_path(c.dir)) == 0600);
  CHECK(mode_of(certs::node_key_path(c.dir, "n1")) == 0600);
  CHECK(mode_of(certs::client_key_path(c.dir, "ann")) == 0600);
}

TEST_CASE("create_ca refuses to replace an existing CA") {
  cluster_certs c;
  auto before = c.ca();
  CHECK_THROWS_WITH_AS(certs::create_ca(c.dir), doctest::Contains("exists already"), certs::cert_error);
  CHECK(c.ca() == before);
}

TEST_CASE("a node certificate is signed only with the CA's own key") {
  cluster_certs c;
  cluster_certs other;
  CHECK_THROWS_WITH_AS(certs::create_node(c.dir, certs::ca_key_path(other.dir), "n2", {}),
                       doctest::Contains("not the private key of"), certs::cert_error);
  CHECK_THROWS_WITH_AS(certs::create_node(c.dir, c.dir + "/missing.key", "n2", {}),
                       doctest::Contains("missing.key"), certs::cert_error);
}

TEST_CASE("names outside [A-Za-z0-9._-]{1,64}, unknown roles and bad hosts are refused") {
  cluster_certs c;
  auto key = certs::ca_key_path(c.dir);
  for (auto& bad : std::vector<std::string>{"", "../n", "a/b", "a b", "ä", "..", std::string(65, 'x')})
    CHECK_THROWS_AS(certs::create_node(c.dir, key, bad, {}), certs::cert_error);
  CHECK_NOTHROW(certs::create_node(c.dir, key, std::string(64, 'x'), {}));
  CHECK_THROWS_WITH_AS(certs::create_client(c.dir, key, "bob", "root"), doctest::Contains("admin or viewer"),
                       certs::cert_error);
  CHECK_THROWS_WITH_AS(certs::create_node(c.dir, key, "n2", {"bad host"}), doctest::Contains("bad host"),
                       certs::cert_error);
  CHECK(certs::is_client_role("admin"));
  CHECK(certs::is_client_role("viewer"));
  CHECK_FALSE(certs::is_client_role("node"));
}

TEST_CASE("list names every certificate in the directory with who it names") {
  cluster_certs c;
  certs::create_client(c.dir, certs::ca_key_path(c.dir), "root", "admin");
  auto all = certs::list(c.dir);
  std::vector<std::string> files;
  for (auto& [file, id] : all)
    files.push_back(file);
  CHECK(files == std::vector<std::string>{"ca.crt", "client.ann.crt", "client.root.crt", "node.n1.crt"});
  CHECK(all[2].second.name == "root");
  CHECK(all[2].second.role == "admin");
  CHECK(all[3].second.role == "node");
  CHECK_THROWS_AS(certs::list(c.dir + "/nowhere"), certs::cert_error);
}

TEST_CASE("a node certificate is replaced by a new one of the same name") {
  cluster_certs c;
  auto before = c.node();
  certs::create_node(c.dir, certs::ca_key_path(c.dir), "n1", {"10.0.0.1"});
  CHECK(c.node() != before);
  CHECK(certs::key_matches(c.node(), c.node_key()));
}
