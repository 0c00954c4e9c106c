// The audit log of a real node: changes refused when it cannot be written, its key, `cafmcp audit verify`.

#include <cstdio>
#include <fstream>

#include <sys/stat.h>
#include <unistd.h>

#include "base/crypto.hpp"
#include "tests/support/cluster_fixture.hpp"

using namespace cafmcp;
using namespace cafmcp::test;

namespace {

/// One clustered node (the admin actor runs only there), its log and key beside it in `dir`.
struct audited_node {
  temp_dir dir;
  std::string cookie = write_cookie(dir, "cookie", "test-cookie-0123456789");
  std::string config = dir.write("node.json", fast_config);
  cluster_node node{dir, "a1", cookie, config};
  std::string log = dir.path() + "/a1.audit.jsonl";
  std::string key = log + ".key";

  ~audited_node() {
    node.proc->signal(SIGTERM);
    node.proc->wait_exit(20s);
  }

  run_result shell(const std::string& cmd, bool json = false) const {
    std::vector<std::string> argv{binary, "shell", "--node", node.address(), "-c", cmd};
    auto flags = client_flags(dir, cookie);
    argv.insert(argv.end(), flags.begin(), flags.end());
    if (json)
      argv.push_back("--json");
    return run(argv, 30s);
  }

  /// tool_worker_1's row in which_children --json.
  json worker() const {
    auto r = shell("which_children /root/protocol_sup/tool_sup", true);
    REQUIRE_MESSAGE(r.code == 0, r.err);
    for (auto& k : json::parse(r.out))
      if (k["id"] == "tool_worker_1")
        return k;
    FAIL("no tool_worker_1: " << r.out);
    return nullptr;
  }

  std::vector<std::string> lines() const {
    std::ifstream in{log};
    std::vector<std::string> out;
    for (std::string l; std::getline(in, l);)
      out.push_back(l);
    return out;
  }
};

const std::string worker_path = "/root/protocol_sup/tool_sup/tool_worker_1";

} // namespace

TEST_CASE("a node refuses kill when its audit log cannot be written - the actor keeps its id") {
  audited_node a;
  struct stat st {};
  REQUIRE(::stat(a.key.c_str(), &st) == 0); // created on first start, for the owner only
  CHECK((st.st_mode & 0777) == 0600);
  auto before = a.worker();

  // The log replaced by a directory: no intent record can be written.
  REQUIRE(std::rename(a.log.c_str(), (a.log + ".away").c_str()) == 0);
  REQUIRE(::mkdir(a.log.c_str(), 0700) == 0);
  auto refused = a.shell("kill " + worker_path);
  CHECK(refused.code == 1);
  CHECK_MESSAGE(refused.err.find("the audit log " + a.log + " cannot be written: open: Is a directory; refusing kill")
                  != std::string::npos,
                refused.err);
  std::this_thread::sleep_for(300ms); // a kill would have been restarted with a new id by now
  auto after = a.worker();
  CHECK(after["actor_id"] == before["actor_id"]);
  CHECK(after["restarts"] == 0);
  CHECK(after["state"] == "running");

  // Writable again: the kill goes through, its intent before its outcome.
  REQUIRE(::rmdir(a.log.c_str()) == 0);
  REQUIRE(std::rename((a.log + ".away").c_str(), a.log.c_str()) == 0);
  auto killed = a.shell("kill " + worker_path, true);
  REQUIRE_MESSAGE(killed.code == 0, killed.err);
  CHECK(json::parse(killed.out)["killed_actor_id"] == before["actor_id"]);
  auto ls = a.lines();
  REQUIRE(ls.size() == 2);
  CHECK(json::parse(ls[0])["result"] == "requested");
  CHECK(json::parse(ls[1])["result"] == "ok");
}

TEST_CASE("cafmcp audit verify exits 0 for an intact log, 1 for a line changed and rechained without the key, 2 without the key") {
  audited_node a;
  REQUIRE(a.shell("kill " + worker_path).code == 0);
  REQUIRE(a.shell("terminate_child /root/protocol_sup/tool_sup tool_worker_2").code == 0);
  auto ls = a.lines();
  REQUIRE(ls.size() == 4);

  auto intact = run({binary, "audit", "verify", a.log}); // the key beside it
  CHECK_MESSAGE(intact.code == 0, intact.err);
  CHECK(intact.out.find("4 record(s), chain intact") != std::string::npos);

  // The kill's outcome changed, and every prev and mac after it recomputed with SHA-256.
  auto forged = ls;
  forged[1].replace(forged[1].find("\"ok\""), 4, "\"no\"");
  auto prev = json::parse(forged[0])["mac"].get<std::string>();
  for (size_t i = 1; i < forged.size(); ++i) {
    auto j = json::parse(forged[i]);
    j.erase("mac");
    j["prev"] = prev;
    auto body = j.dump();
    prev = crypto::sha256_hex(body);
    body.pop_back();
    forged[i] = body + ",\"mac\":\"" + prev + "\"}";
  }
  std::string text;
  for (auto& l : forged)
    text += l + "\n";
  auto tampered = a.dir.write("tampered.jsonl", text);
  auto broken = run({binary, "audit", "verify", tampered, "--key", a.key});
  CHECK(broken.code == 1);
  CHECK_MESSAGE(broken.err.find("the chain breaks at line 2: its mac does not match") != std::string::npos, broken.err);

  auto keyless = run({binary, "audit", "verify", tampered}); // no tampered.jsonl.key
  CHECK(keyless.code == 2);
  CHECK_MESSAGE(keyless.err.find("cannot verify " + tampered + " without its key") != std::string::npos, keyless.err);
  CHECK(keyless.err.find(tampered + ".key") != std::string::npos);
  CHECK(keyless.err.find("--key") != std::string::npos);
}

TEST_CASE("a node with an audit key others may read, or a malformed one, refuses to start naming the file and admin.audit_key_file") {
  temp_dir dir;
  auto cookie = write_cookie(dir, "cookie", "test-cookie-0123456789");
  ensure_node_cert(dir, "k1");
  auto start = [&](const std::string& key) {
    return run({binary, "node", "--name", "k1", "--cluster-port", std::to_string(free_port()), "--http-port", "0",
                "--metrics-port", "0", "--cookie-file", cookie, "--certs-dir", certs_of(dir), "--audit-log",
                dir.path() + "/k1.audit.jsonl", "--audit-key", key},
               30s);
  };
  auto readable = dir.write("readable.key", std::string(64, 'a') + "\n");
  ::chmod(readable.c_str(), 0644);
  auto r = start(readable);
  CHECK(r.code == 2);
  CHECK_MESSAGE(r.err.find("\"admin.audit_key_file\": the audit key " + readable + " is accessible by group or others")
                  != std::string::npos,
                r.err);
  auto malformed = dir.write("malformed.key", "not hex\n");
  ::chmod(malformed.c_str(), 0600);
  auto m = start(malformed);
  CHECK(m.code == 2);
  CHECK_MESSAGE(m.err.find("\"admin.audit_key_file\": the audit key " + malformed + " does not hold 64 hex digits")
                  != std::string::npos,
                m.err);
}
