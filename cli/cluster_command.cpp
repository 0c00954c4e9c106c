// `cafmcp cluster up|down`: a local cluster of node processes.
#include "cli/cluster_command.hpp"

#include <csignal>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "base/certificate.hpp"
#include "cluster/client.hpp"
#include "cluster/cookie.hpp"
#include "cluster/messages.hpp"
#include "cli/node_config.hpp"
#include "cli/node_process.hpp"

namespace cafmcp::cli {

namespace {

using namespace std::chrono_literals;

std::string pid_file(const std::string& dir) {
  return dir + "/cluster.pids";
}

void write_pids(const std::string& dir, const std::vector<node_proc>& procs) {
  std::ofstream out{pid_file(dir)};
  for (auto& p : procs)
    out << p.name << ' ' << p.pid << ' ' << p.cluster_port << ' ' << p.http_port << '\n';
}

std::vector<node_proc> read_pids(const std::string& dir) {
  std::vector<node_proc> out;
  std::ifstream in{pid_file(dir)};
  node_proc p;
  while (in >> p.name >> p.pid >> p.cluster_port >> p.http_port)
    out.push_back(p);
  return out;
}

/// Waits until the first node reports every node up and healthy and, with
/// `serves_http`, every node's MCP port listens (a node opens it last, once
/// its upstream servers list their tools: that may take longer).
bool wait_all_up(const std::vector<node_proc>& procs, const std::string& cookie, const cluster::tls_files& tls,
                 const cluster::credentials& creds, bool serves_http, std::chrono::seconds limit, std::string& last) {
  // Never destroyed: the process ends with _Exit, and a CAF system's
  // destructor could wait on middleman work we do not need.
  static caf::actor_system_config cfg;
  cluster::register_types(cfg);
  cluster::configure_transport(cfg, tls);
  auto& sys = *new caf::actor_system{cfg};
  auto deadline = std::chrono::steady_clock::now() + limit;
  caf::actor node;
  while (std::chrono::steady_clock::now() < deadline) {
    for (auto& p : procs)
      if (!alive(p.pid)) {
        last = p.name + " exited during start";
        return false;
      }
    if (!node) {
      auto n = cluster::attach(sys, "127.0.0.1", static_cast<uint16_t>(procs.front().cluster_port), cookie, 2s,
                               creds);
      if (n)
        node = *n;
      else
        last = sys.render(n.error());
    }
    if (node) {
      auto rows = cluster::cluster_status(sys, node, 2s);
      if (rows) {
        size_t ready = 0;
        for (auto& r : *rows)
          ready += r.state == "up" && r.health == "healthy" ? 1 : 0;
        last = std::to_string(ready) + " of " + std::to_string(procs.size()) + " nodes up";
        if (ready == procs.size() && serves_http) {
          size_t serving = 0;
          for (auto& p : procs)
            serving += port_free(p.http_port) ? 0 : 1;
          last = std::to_string(serving) + " of " + std::to_string(procs.size()) + " nodes serve MCP";
          if (serving == procs.size())
            return true;
        } else if (ready == procs.size()) {
          return true;
        }
      } else {
        node = caf::actor{};
        last = sys.render(rows.error());
      }
    }
    std::this_thread::sleep_for(200ms);
  }
  return false;
}

/// The CA, each node's certificate and the admin's client certificate:
/// made where missing (or, for a node, not of this CA), kept otherwise.
/// Returns what it made, for the operator.
std::string ensure_certificates(const std::string& dir, const std::vector<node_proc>& procs) {
  std::string made;
  auto note = [&made](const std::string& what) { made += (made.empty() ? "" : ", ") + what; };
  auto exists = [](const std::string& path) { return ::access(path.c_str(), F_OK) == 0; };
  if (!exists(certs::ca_cert_path(dir))) {
    certs::create_ca(dir);
    note("a CA");
  }
  auto ca_key = certs::ca_key_path(dir);
  auto ca = certs::read_file(certs::ca_cert_path(dir));
  for (auto& p : procs) {
    auto cert = certs::node_cert_path(dir, p.name);
    std::string why;
    if (exists(cert) && exists(certs::node_key_path(dir, p.name)) && certs::verify(certs::read_file(cert), ca, why))
      continue;
    certs::create_node(dir, ca_key, p.name, {"127.0.0.1", "localhost"});
    note("node " + p.name);
  }
  if (!exists(certs::client_cert_path(dir, "admin"))) {
    certs::create_client(dir, ca_key, "admin", "admin");
    note("client admin (role admin)");
  }
  return made;
}

} // namespace

int run_cluster_up(const cluster_up_options& opts) {
  if (opts.nodes < 1 || opts.nodes > 32) {
    std::cerr << "cafmcp cluster up: --nodes must be 1 … 32\n";
    return 2;
  }
  if (opts.base_port < 1 || opts.base_port + 3 * opts.nodes > 65535) {
    std::cerr << "cafmcp cluster up: --base-port leaves no room for " << opts.nodes << " nodes\n";
    return 2;
  }
  ::mkdir(opts.data_dir.c_str(), 0755);
  struct stat st {};
  if (::stat(opts.data_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    std::cerr << "cafmcp cluster up: cannot use the data directory " << opts.data_dir << '\n';
    return 1;
  }
  for (auto& p : read_pids(opts.data_dir))
    if (::kill(p.pid, 0) == 0) {
      std::cerr << "cafmcp cluster up: a cluster from " << opts.data_dir << " is running (" << p.name << ", pid "
                << p.pid << "); stop it with: cafmcp cluster down --data-dir " << opts.data_dir << '\n';
      return 1;
    }
  auto certs_dir = opts.certs_dir;
  bool insecure = opts.insecure;
  bool serves_http = true;
  if (!opts.config_file.empty()) {
    try {
      node_overrides as_member; // read as each node will: a cluster member
      as_member.cluster_port = opts.base_port;
      auto file = load_node_config(opts.config_file, as_member); // checked once here, not N times
      if (certs_dir.empty())
        certs_dir = file.certs_dir;
      insecure = insecure || file.cluster_insecure;
      serves_http = file.http_enabled;
    } catch (const config::config_error& e) {
      std::cerr << "cafmcp cluster up: bad config: " << e.what() << '\n';
      return 2;
    }
  }
  if (certs_dir.empty())
    certs_dir = certs::default_certs_dir();
  std::string cookie;
  auto cookie_path = opts.cookie_file.empty() ? cluster::default_cookie_path() : opts.cookie_file;
  try {
    cookie = cluster::load_cookie(cookie_path, opts.cookie_file.empty()); // created before the nodes race for it
  } catch (const std::exception& e) {
    std::cerr << "cafmcp cluster up: " << e.what() << '\n';
    return 1;
  }
  std::vector<node_proc> procs;
  for (int k = 1; k <= opts.nodes; ++k) {
    node_proc p;
    p.name = "n" + std::to_string(k);
    p.cluster_port = opts.base_port + 3 * (k - 1);
    p.http_port = p.cluster_port + 1;
    p.metrics_port = p.cluster_port + 2;
    for (int port : {p.cluster_port, p.http_port, p.metrics_port})
      if (!port_free(port)) {
        std::cerr << "cafmcp cluster up: port " << port << " (for " << p.name
                  << ") is in use; pick another --base-port\n";
        return 1;
      }
    procs.push_back(p);
  }
  cluster::tls_files tls;
  cluster::credentials creds;
  if (!insecure) {
    try {
      auto made = ensure_certificates(certs_dir, procs);
      if (!made.empty())
        std::cout << "certificates in " << certs_dir << ": created " << made << '\n';
      tls = {certs::client_cert_path(certs_dir, "admin"), certs::client_key_path(certs_dir, "admin"),
             certs::ca_cert_path(certs_dir)};
      creds = cluster::credentials::load(tls);
    } catch (const certs::cert_error& e) {
      std::cerr << "cafmcp cluster up: " << e.what() << '\n';
      return 1;
    }
  }
  // Signals are for us: the nodes get their own, later, from stop_all.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  auto exe = self_exe();
  auto seed = "127.0.0.1:" + std::to_string(procs.front().cluster_port);
  for (auto& p : procs) {
    std::vector<std::string> argv{exe, "node", "--name", p.name, "--cluster-port", std::to_string(p.cluster_port),
                                  "--http-port", std::to_string(p.http_port),
                                  "--metrics-port", std::to_string(p.metrics_port), "--cookie-file", cookie_path,
                                  "--audit-log", opts.data_dir + "/" + p.name + ".audit.jsonl",
                                  "--data-dir", opts.data_dir + "/" + p.name};
    if (&p != &procs.front())
      argv.insert(argv.end(), {"--seeds", seed});
    if (!opts.config_file.empty())
      argv.insert(argv.end(), {"--config", opts.config_file});
    if (insecure)
      argv.push_back("--insecure");
    else
      argv.insert(argv.end(), {"--certs-dir", certs_dir});
    p.pid = spawn_node(argv, opts.data_dir + "/" + p.name + ".log");
    if (p.pid < 0) {
      std::cerr << "cafmcp cluster up: cannot start " << p.name << ": " << std::strerror(errno) << '\n';
      stop_all(procs, 10s);
      return 1;
    }
  }
  write_pids(opts.data_dir, procs);
  std::string progress;
  if (!wait_all_up(procs, cookie, tls, creds, serves_http, 60s, progress)) {
    std::cerr << "cafmcp cluster up: the cluster did not come up (" << progress << "); logs in " << opts.data_dir
              << "/\n";
    stop_all(procs, 30s);
    ::unlink(pid_file(opts.data_dir).c_str());
    return 1;
  }
  std::cout << "cluster up: " << procs.size() << " nodes (cookie " << cookie_path
            << (insecure ? "; INSECURE: plain BASP" : "; mutual TLS, certificates in " + certs_dir) << ")\n";
  for (auto& p : procs)
    std::cout << "  " << p.name << "  pid " << p.pid << "  cluster 127.0.0.1:" << p.cluster_port
              << "  MCP http://127.0.0.1:" << p.http_port << "/mcp  metrics http://127.0.0.1:" << p.metrics_port
              << "/metrics  log " << opts.data_dir << "/" << p.name
              << ".log\n";
  auto flags = insecure ? std::string{" --insecure"}
                        : certs_dir == certs::default_certs_dir() ? std::string{} : " --certs-dir " + certs_dir;
  std::cout << "status: cafmcp status --node 127.0.0.1:" << procs.front().cluster_port << flags << '\n';
  std::cout << "shell:  cafmcp shell --node 127.0.0.1:" << procs.front().cluster_port << flags << '\n';
  if (opts.detach) {
    std::cout << "stop:   cafmcp cluster down --data-dir " << opts.data_dir << '\n' << std::flush;
    std::fflush(nullptr);
    std::_Exit(0);
  }
  std::cout << "Ctrl-C stops the cluster.\n" << std::flush;
  int sig = 0;
  sigwait(&signals, &sig);
  std::cout << "stopping " << procs.size() << " nodes\n" << std::flush;
  bool clean = stop_all(procs, 40s);
  ::unlink(pid_file(opts.data_dir).c_str());
  std::cout << (clean ? "cluster stopped\n" : "cluster stopped (some nodes had to be killed)\n") << std::flush;
  std::fflush(nullptr);
  std::_Exit(clean ? 0 : 1);
}

int run_cluster_down(const std::string& data_dir) {
  auto procs = read_pids(data_dir);
  if (procs.empty()) {
    std::cerr << "cafmcp cluster down: no cluster started from " << data_dir << " (no " << pid_file(data_dir) << ")\n";
    return 1;
  }
  std::vector<node_proc> running;
  for (auto& p : procs)
    if (::kill(p.pid, 0) == 0)
      running.push_back(p);
  bool clean = stop_all(running, 40s);
  ::unlink(pid_file(data_dir).c_str());
  std::cout << "stopped " << running.size() << " node(s)" << (clean ? "" : " (some had to be killed)") << '\n';
  return clean ? 0 : 1;
}

} // namespace cafmcp::cli
