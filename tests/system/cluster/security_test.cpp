// The cluster's security guarantees against real node processes: mutual TLS by default, identities bound to
// certificates, roles, audit under the certificate's subject, refused clock drift and the insecure mode's limits.

#include <fstream>
#include <regex>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "base/certificate.hpp"
#include "cluster/client.hpp"
#include "cluster/node.hpp"
#include "tests/support/cluster_fixture.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/mcp_call.hpp"

using namespace cafmcp;
using namespace cafmcp::test;

namespace {

/// What a plain TCP client that connects and says nothing hears within `wait`.
std::string bytes_heard(uint16_t port, std::chrono::milliseconds wait) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + wait;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (::poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 1))) <= 0)
      break;
    char buf[4096];
    auto n = ::read(fd, buf, sizeof(buf));
    if (n <= 0)
      break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

/// `cafmcp shell -c CMD` as `user` (a client certificate in the test's certs dir).
run_result shell_as(const three_nodes& c, const std::string& user, const std::string& cmd) {
  std::vector<std::string> argv{binary, "shell", "--node", c.n1->address(), "-c", cmd};
  auto flags = client_flags(c.dir, c.cookie, user);
  argv.insert(argv.end(), flags.begin(), flags.end());
  return run(argv, 60s);
}

std::vector<json> audit_of(const temp_dir& dir, const std::string& node) {
  std::ifstream in{dir.path() + "/" + node + ".audit.jsonl"};
  std::vector<json> out;
  std::string line;
  while (std::getline(in, line))
    out.push_back(json::parse(line, nullptr, false));
  return out;
}

bool has_record(const std::vector<json>& lines, const std::string& who, const std::string& op,
                const std::string& result_prefix) {
  for (auto& l : lines)
    if (l.is_object() && l["who"] == who && l["op"] == op
        && l["result"].get<std::string>().rfind(result_prefix, 0) == 0)
      return true;
  return false;
}

} // namespace

TEST_CASE("a default node speaks no BASP to a client without a certificate - an insecure one does at once") {
  temp_dir dir;
  auto cookie = write_cookie(dir, "cookie", "sec-cookie");
  auto config = dir.write("node.json", fast_config);
  cluster_node secure{dir, "n1", cookie, config};
  // A plain TCP client that waits: TLS waits for its hello, BASP would talk first.
  CHECK(bytes_heard(secure.cluster_port, 1500ms).empty());
  // A plain CAF client (BASP without TLS) gets no handle, so nothing it sends can be delivered.
  {
    caf::actor_system_config cfg;
    cluster::register_types(cfg);
    cfg.load<caf::io::middleman>();
    caf::actor_system sys{cfg};
    auto plain = sys.middleman().remote_actor("127.0.0.1", secure.cluster_port);
    CHECK_FALSE(plain);
  }
  auto plain_status = status(dir, secure, cookie, {"--insecure"});
  CHECK(plain_status.code == 1);
  // The same check against an insecure node hears BASP's handshake at once: the check can fail.
  auto insecure_config = dir.write("insecure.json", R"({"cluster": {"insecure": true}})");
  process open{{binary, "node", "--name", "open", "--cluster-port", std::to_string(free_port()), "--http-port", "0",
                "--metrics-port", "0", "--cookie-file", cookie, "--config", insecure_config, "--audit-log",
                dir.path() + "/open.audit.jsonl", "--data-dir", dir.path() + "/data/open"},
               dir.path()};
  auto ready = wait_ready(open, "open");
  REQUIRE(ready);
  CHECK(open.err().find("cluster.insecure: the cluster port") != std::string::npos); // warned at start
  auto port = static_cast<uint16_t>(std::stoi(ready->cluster.substr(ready->cluster.rfind(':') + 1)));
  CHECK_FALSE(bytes_heard(port, 1500ms).empty());
  auto health = json::parse(http_request(ready->web_port, "GET", "/health", {}).body, nullptr, false);
  CHECK(health["cluster_transport"] == "insecure");
  auto secure_health = json::parse(http_request(secure.web_port, "GET", "/health", {}).body, nullptr, false);
  CHECK(secure_health["cluster_transport"] == "mutual_tls");
  open.signal(SIGTERM);
  secure.proc->signal(SIGTERM);
  CHECK(open.wait_exit(20s) == 0);
  CHECK(secure.proc->wait_exit(20s) == 0);
}

TEST_CASE("a client or a node with a certificate of another CA is refused") {
  temp_dir dir;
  temp_dir other;
  auto cookie = write_cookie(dir, "cookie", "sec-cookie");
  auto config = dir.write("node.json", fast_config);
  cluster_node n1{dir, "n1", cookie, config};
  ensure_node_cert(other, "n2");
  auto stranger = run({binary, "status", "--node", n1.address(), "--cookie-file", cookie, "--certs-dir",
                       certs_of(other), "--json"});
  CHECK(stranger.code == 1);
  std::vector<std::string> args{binary, "node", "--name", "n2", "--cluster-port", std::to_string(free_port()),
                                "--http-port", "0", "--metrics-port", "0", "--cookie-file", cookie, "--config", config,
                                "--certs-dir", certs_of(other), "--seeds", n1.address(), "--audit-log",
                                dir.path() + "/n2.audit.jsonl", "--data-dir", dir.path() + "/data/n2"};
  process n2{args, dir.path()};
  REQUIRE(wait_ready(n2, "n2"));
  std::this_thread::sleep_for(1500ms); // several join attempts (200 ms heartbeats)
  auto s = status(dir, n1, cookie);
  REQUIRE(s.code == 0);
  CHECK(s.rows.size() == 1); // n2 never joined
  n2.signal(SIGTERM);
  n1.proc->signal(SIGTERM);
  n2.wait_exit(20s);
  CHECK(n1.proc->wait_exit(20s) == 0);
}

TEST_CASE("a node presenting another member's name with its own valid certificate is refused and logged") {
  temp_dir dir;
  auto cookie = write_cookie(dir, "cookie", "sec-cookie");
  auto config = dir.write("node.json", fast_config);
  cluster_node n1{dir, "n1", cookie, config};
  ensure_node_cert(dir, "n3");
  // An impostor in this process: certificate CN=n3, calling itself n2.
  cluster::tls_files files{certs_of(dir) + "/node.n3.crt", certs_of(dir) + "/node.n3.key", certs_of(dir) + "/ca.crt"};
  caf::actor_system_config cfg;
  cluster::register_types(cfg);
  cluster::configure_transport(cfg, files);
  caf::actor_system sys{cfg};
  cluster::cluster_config cc;
  cc.enabled = true;
  cc.name = "n2";
  cc.port = free_port();
  cc.seeds = {n1.address()};
  cc.cookie = "sec-cookie";
  cc.heartbeat = 200ms;
  cc.tls = true;
  cc.creds = cluster::credentials::load(files);
  auto names = actors::name_table::make();
  auto spec = cluster::node_actor_spec(cc, std::make_shared<cluster::cluster_view>(), names);
  auto impostor = spec.start(supervision::start_context{sys, "/root/cluster_sup/node", caf::message{}});
  REQUIRE(impostor);
  CHECK(n1.proc->wait_for_stderr_line(
    std::regex{R"(.*refused a join by n2 from node .*: it claims to be member n2 but its certificate is CN=n3,OU=node)"},
    10s));
  auto s = status(dir, n1, cookie);
  REQUIRE(s.code == 0);
  CHECK(s.rows.size() == 1);
  caf::anon_send_exit(*impostor, caf::exit_reason::kill);
  n1.proc->signal(SIGTERM);
  CHECK(n1.proc->wait_exit(20s) == 0);
}

TEST_CASE("a viewer cannot kill or fail over, an admin can - the audit log names both by certificate subject") {
  three_nodes c;
  const std::string worker = "n2:/root/protocol_sup/tool_sup/tool_worker_1";
  auto tree = shell_as(c, "viewer", "which_children n2:/root/protocol_sup/tool_sup");
  CHECK_MESSAGE(tree.code == 0, tree.err); // reading is a viewer's
  auto kill = shell_as(c, "viewer", "kill " + worker);
  CHECK(kill.code == 1);
  CHECK(kill.err.find("kill needs role admin; the caller's role is viewer") != std::string::npos);
  auto failover = shell_as(c, "viewer", "failover n3");
  CHECK(failover.code == 1);
  CHECK(failover.err.find("failover needs role admin") != std::string::npos);
  auto killed = shell_as(c, "admin", "kill " + worker);
  CHECK_MESSAGE(killed.code == 0, killed.err);
  // A refusal is written where the call came in (n1); a change where it is made (n2).
  auto n1_log = audit_of(c.dir, "n1");
  CHECK(has_record(n1_log, "CN=viewer,OU=viewer", "kill", "refused"));
  CHECK(has_record(n1_log, "CN=viewer,OU=viewer", "failover", "refused"));
  auto n2_log = audit_of(c.dir, "n2");
  CHECK(has_record(n2_log, "CN=admin,OU=admin", "kill", "ok"));
  // What the shell asserts about itself is never what is written.
  for (auto* log : {&n1_log, &n2_log})
    for (auto& l : *log)
      CHECK(l["who"].get<std::string>().find('@') == std::string::npos);
}

TEST_CASE("a replicated write stamped far ahead of the clock is refused by every replica and counted") {
  temp_dir dir;
  auto cookie = write_cookie(dir, "cookie", "drift-cookie");
  json cfg = json::parse(fast_config);
  cfg["cluster"]["replication"] = {{"factor", 3}, {"write_timeout_ms", 500}, {"max_clock_drift_ms", 5000}};
  auto config = dir.write("node.json", cfg.dump());
  cfg["cluster"]["replication"]["clock_offset_ms"] = 3600 * 1000; // an hour ahead
  auto skewed = dir.write("skewed.json", cfg.dump());
  cluster_node n1{dir, "n1", cookie, config};
  cluster_node n2{dir, "n2", cookie, config, n1.address()};
  cluster_node n3{dir, "n3", cookie, skewed, n1.address()};
  REQUIRE(wait_all_up(dir, {&n1, &n2, &n3}, cookie));
  // Handles opened through n3: those it leads carry its stamps, an hour ahead.
  for (int i = 0; i < 60 && (metric(n1.web_port, "cafmcp_replication_refused_clock_drift_total") <= 0
                             || metric(n2.web_port, "cafmcp_replication_refused_clock_drift_total") <= 0);
       ++i)
    mcp_tool_call(n3.http_port, "session_open", json::object());
  CHECK(metric(n1.web_port, "cafmcp_replication_refused_clock_drift_total") > 0);
  CHECK(metric(n2.web_port, "cafmcp_replication_refused_clock_drift_total") > 0);
  CHECK(n1.proc->err().find("(cluster.replication.max_clock_drift_ms) ahead of this node's clock") != std::string::npos);
  // Handles n1 leads are stamped now and still replicate (n3 takes them: they are in its past).
  CHECK(metric(n3.web_port, "cafmcp_replication_refused_clock_drift_total") == 0);
  for (auto* n : {&n1, &n2, &n3})
    n->proc->signal(SIGTERM);
  for (auto* n : {&n1, &n2, &n3})
    n->proc->wait_exit(20s);
}

TEST_CASE("a flood of connections that never finish TLS, from one source, does not keep a member from joining") {
  temp_dir dir;
  auto cookie = write_cookie(dir, "cookie", "flood-cookie");
  auto config = dir.write("node.json", fast_config);
  cluster_node n1{dir, "n1", cookie, config};
  // 200 connections held open, each sending half a TLS record and then nothing.
  std::vector<int> held;
  for (int i = 0; i < 200; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(n1.cluster_port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
      ::close(fd);
      continue;
    }
    const char partial[] = "\x16\x03\x01\x02\x00\x01"; // a ClientHello's header, the rest never comes
    CHECK(::write(fd, partial, sizeof(partial) - 1) > 0);
    held.push_back(fd);
  }
  CHECK(held.size() == 200);
  cluster_node n2{dir, "n2", cookie, config, n1.address()};
  CHECK(wait_status(dir, n1, cookie, [](const json& rows) { return all_up_healthy(rows, 2); }, 15s));
  for (int fd : held)
    ::close(fd);
  n1.proc->signal(SIGTERM);
  n2.proc->signal(SIGTERM);
  CHECK(n1.proc->wait_exit(20s) == 0);
  CHECK(n2.proc->wait_exit(20s) == 0);
}

TEST_CASE("a cluster node refuses to start without certificates, and insecure only on a loopback address") {
  temp_dir dir;
  auto cookie = write_cookie(dir, "cookie", "sec-cookie");
  auto empty = dir.path() + "/no-certs";
  auto none = run({binary, "node", "--name", "n1", "--cluster-port", std::to_string(free_port()), "--http-port", "0",
                   "--metrics-port", "0", "--cookie-file", cookie, "--certs-dir", empty});
  CHECK(none.code == 2);
  CHECK(none.err.find("cluster.tls.certificate") != std::string::npos);
  CHECK(none.err.find("cafmcp cert create-node n1") != std::string::npos);
  auto wide = run({binary, "node", "--name", "n1", "--cluster-port", std::to_string(free_port()), "--cluster-host",
                   "10.11.12.13", "--http-port", "0", "--metrics-port", "0", "--cookie-file", cookie, "--insecure"});
  CHECK(wide.code == 2);
  CHECK(wide.err.find("cluster.insecure") != std::string::npos);
  CHECK(wide.err.find("loopback") != std::string::npos);
  // A certificate that names another node is not this node's.
  ensure_node_cert(dir, "n2");
  auto config = dir.write("borrowed.json", json{{"cluster", {{"tls", {{"certificate", certs_of(dir) + "/node.n2.crt"},
                                                                        {"key", certs_of(dir) + "/node.n2.key"}}}}}}
                                                .dump());
  auto borrowed = run({binary, "node", "--name", "n1", "--cluster-port", std::to_string(free_port()), "--http-port",
                       "0", "--metrics-port", "0", "--cookie-file", cookie, "--certs-dir", certs_of(dir), "--config",
                       config});
  CHECK(borrowed.code == 2);
  CHECK(borrowed.err.find("is the certificate of CN=n2,OU=node, but this node is n1") != std::string::npos);
}
