// `cafmcp node`: runs one node's tree until SIGINT or SIGTERM.
#include "cli/node_command.hpp"

#include "cli/member_calls.hpp"

#include <csignal>
#include <cstdio>
#include <iostream>
#include <thread>

#include <unistd.h>

#include <caf/all.hpp>

#include "base/audit_key.hpp"
#include "cli/member_calls.hpp"
#include "cli/node_tree.hpp"
#include "cli/replicated_tasks.hpp"
#include "cluster/client.hpp"
#include "cluster/cookie.hpp"
#include "protocol/builtin.hpp"
#include "protocol/conformance_tools.hpp"
#include "protocol/detail/http_headers.hpp"
#include "base/crypto.hpp"
#include "protocol/endpoint.hpp"
#include "protocol/http_transport.hpp"
#include "protocol/tool_runner.hpp"
#include "protocol/stdio_transport.hpp"
#include "supervision/messages.hpp"
#include "base/log.hpp"
#include "base/trace.hpp"
#include "supervision/supervisor.hpp"
#include "supervision/tree.hpp"

namespace cafmcp::cli {

namespace {

constexpr auto start_timeout = std::chrono::seconds(30);

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

const char* signal_name(int sig) {
  return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "signal";
}

/// Stops the tree in reverse order and waits for it, at most `grace`.
/// Holding `root` until it is down matters: CAF 0.17 handles an exit
/// request by touching its sender's address, which here is root itself.
bool stop_tree(caf::actor_system& sys, const caf::actor& root, std::chrono::milliseconds grace) {
  caf::scoped_actor self{sys};
  self->monitor(root);
  caf::anon_send_exit(root, caf::exit_reason::user_shutdown);
  bool stopped = false;
  self->receive([&](caf::down_msg&) { stopped = true; }, caf::after(grace) >> [] {});
  return stopped;
}

/// The port `listener` answers a get_atom with (0 when it does not answer).
uint32_t port_of(caf::actor_system& sys, const caf::actor& listener) {
  if (!listener)
    return 0;
  uint32_t port = 0;
  caf::scoped_actor self{sys};
  self->request(listener, std::chrono::seconds(5), caf::get_atom::value)
    .receive([&](uint32_t p) { port = p; }, [](caf::error&) {});
  return port;
}

/// The node's bound addresses for its ready line, one key=value each
/// ("off" when disabled, "unbound" when the port could not be opened yet):
/// `cluster=HOST:PORT mcp=http://HOST:PORT/PATH observability=http://HOST:PORT`.
std::string bound_addresses(caf::actor_system& sys, const node_config& cfg, const caf::actor& http_listener,
                            const caf::actor& web) {
  auto http_url = [](const std::string& host, uint32_t port) {
    return port == 0 ? std::string{"unbound"} : "http://" + host + ":" + std::to_string(port);
  };
  std::string out = "cluster=";
  out += cfg.cluster.enabled ? cfg.cluster.host + ":" + std::to_string(cfg.cluster.port) : "off";
  out += " mcp=";
  if (!cfg.http_enabled)
    out += "off";
  else if (auto port = port_of(sys, http_listener); port != 0)
    out += http_url(cfg.http_host, port) + cfg.http_path;
  else
    out += "unbound";
  out += " observability=";
  out += cfg.web.enabled ? http_url(cfg.web.host, port_of(sys, web)) : "off";
  return out;
}

/// Starts each upstream server under upstream_sup and waits (each within
/// its start timeout) for its tools to be in the catalog, so that the ready
/// line means they are served. One that is not ready by then is left to
/// its supervisor; the node serves without its tools until it is.
void start_upstreams(caf::actor_system& sys, const node_config& cfg, const std::shared_ptr<protocol::catalog_store>& store,
                     const std::shared_ptr<actors::name_table>& names,
                     const std::shared_ptr<metrics::metrics_registry>& metrics) {
  if (cfg.upstreams.empty())
    return;
  caf::scoped_actor self{sys};
  for (auto& up : cfg.upstreams)
    self->request(names->lookup("upstream_sup"), start_timeout, supervision::start_child_atom::value,
                  protocol::upstream_spec(up, store, names, metrics, cfg.restart_backoff))
      .receive([](caf::actor&) {},
               [&](caf::error& e) { log::warning("/", "upstream " + up.name + " did not start: " + sys.render(e)); });
  for (auto& up : cfg.upstreams) {
    auto actor = names->lookup(protocol::upstream_actor_name(up.name));
    auto why = std::string{"its process ended at start"};
    if (actor)
      self->request(actor, up.start_timeout + std::chrono::seconds(1), protocol::upstream_ready_atom::value)
        .receive([&](bool) { why.clear(); }, [&](caf::error& e) { why = sys.render(e); });
    if (!why.empty())
      log::warning("/", "upstream " + up.name + " is not serving yet (" + why
                          + "); its tools appear once its supervisor has it running");
  }
}

} // namespace

int run_node(const node_options& opts) {
  if (opts.describe_config) {
    std::cout << config::describe(node_config_schema());
    return 0;
  }
  node_config cfg;
  try {
    auto overrides = opts.overrides;
    overrides.stdio = opts.stdio;
    cfg = load_node_config(opts.config_file, overrides);
  } catch (const config::config_error& e) {
    std::cerr << "cafmcp node: bad config: " << e.what() << '\n';
    return 2;
  }
  if (opts.print_config) {
    std::cout << cfg.effective.dump(2) << '\n';
    return 0;
  }
  log::configure(cfg.log_level, cfg.log_format, cfg.name);
  if (!cfg.log_file.empty())
    if (auto why = log::write_to_file(cfg.log_file); !why.empty()) {
      std::cerr << "cafmcp node: \"log.file\": cannot open " << cfg.log_file << " for appending: " << why << '\n';
      return 2;
    }
  trace::configure(trace::tracer_config{cfg.tracing.enabled, cfg.tracing.sample_ratio, cfg.tracing.queue_limit,
                                        cfg.tracing.batch_size});
  if (cfg.cluster.enabled) {
    try {
      resolve_cluster_security(cfg);
    } catch (const config::config_error& e) {
      std::cerr << "cafmcp node: " << e.what() << '\n';
      return 2;
    }
    auto path = cfg.cookie_file.empty() ? cluster::default_cookie_path() : cfg.cookie_file;
    try {
      // The default cookie is created on first use, as Erlang does; a named
      // file must exist.
      cfg.cluster.cookie = cluster::load_cookie(path, cfg.cookie_file.empty());
    } catch (const std::exception& e) {
      std::cerr << "cafmcp node: " << e.what() << '\n';
      return 2;
    }
    // The admin actor (cluster nodes only) chains its audit log under this
    // key; a key others may read, or a broken one, stops the start here.
    try {
      cfg.audit_key = audit::load_audit_key(cfg.audit_key_file, true);
    } catch (const std::exception& e) {
      std::cerr << "cafmcp node: bad config: \"admin.audit_key_file\": " << e.what() << '\n';
      return 2;
    }
  }

  // Signals are taken by sigwait on this thread only; every thread the actor
  // system starts inherits the mask.
  auto signals = stop_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN); // a client that goes away is a write error, not a crash

  caf::actor_system_config sys_cfg;
  configure_actor_system(sys_cfg, cfg);
  caf::actor_system sys{sys_cfg};
  log::info("/", "starting node " + cfg.name + " (cafmcp " CAFMCP_VERSION ", pid "
                   + std::to_string(getpid()) + ")");
  if (cfg.cluster.enabled)
    cfg.web.cluster_transport = cfg.cluster.tls ? "mutual_tls" : "insecure";
  if (cfg.http_enabled) {
    cfg.web.mcp_auth = cfg.http_limits.auth.enabled ? "bearer" : "off";
    if (!cfg.http_limits.auth.enabled && !protocol::detail::is_loopback_host(cfg.http_host))
      log::warning("/", "MCP on " + cfg.http_host + ":" + std::to_string(cfg.http_port)
                          + " answers anyone who can reach it: set mcp.auth (docs/SECURITY.md)");
  }
  if (cfg.cluster.enabled && cfg.cluster_insecure)
    log::warning("/", "cluster.insecure: the cluster port " + cfg.cluster.host + ":" + std::to_string(cfg.cluster.port)
                        + " speaks plain BASP and the cookie is the only credential; anyone on this machine who "
                          "can read the cookie is an admin (docs/SECURITY.md)");

  auto names = actors::name_table::make();
  auto view = std::make_shared<cluster::cluster_view>();
  auto orphans = std::make_shared<std::function<void(const actors::session_record&)>>();
  auto task_registry = std::make_shared<std::shared_ptr<protocol::task_registry>>();
  auto metrics = std::make_shared<metrics::metrics_registry>();
  cfg.replication.on_orphaned_task = [orphans](const actors::session_record& rec) {
    if (*orphans)
      (*orphans)(rec);
  };
  auto root = supervision::spawn_supervisor(sys, "/root", [&] {
    auto f = cfg.tier_flags;
    f.how = supervision::strategy::one_for_one;
    return f;
  }(), node_tree(cfg, names, view, task_registry, metrics));
  names->put("root", root); // for the admin actor (cafmcp shell)
  if (auto err = supervision::await_started(sys, root, start_timeout)) {
    log::error("/", "node failed to start: " + sys.render(err));
    stop_tree(sys, root, cfg.shutdown_grace);
    return 1;
  }

  auto cat = std::make_shared<protocol::catalog>(
    protocol::server_identity{"cafmcp", "cafmcp", CAFMCP_VERSION, cfg.instructions});
  protocol::add_builtins(*cat);
  if (cfg.conformance_tools)
    protocol::add_conformance_tools(*cat);
  if (opts.extend) {
    try {
      opts.extend(*cat);
    } catch (const std::exception& e) {
      log::error("/", "the server's own tools could not be registered: " + std::string{e.what()});
      stop_tree(sys, root, cfg.shutdown_grace);
      return 2;
    }
  }
  cat->page_size = cfg.page_size;
  for (auto& l : cfg.core.limits->limits())
    if (l.scope.rfind("tool:", 0) == 0 && !cat->find_tool(l.scope.substr(5)))
      log::warning("/", "rate_limiter.tools limits tool " + l.scope.substr(5)
                          + ", which this node does not serve (yet): the limit applies once it does");
  auto env = protocol::endpoint_env::serving(cat, cfg.tasks);
  if (cfg.cluster.enabled) {
    // Every member seals MCP requestStates with the same key, derived from
    // the cookie, so a client's retry may land on any node.
    env.sealer = std::make_shared<protocol::request_state_sealer>(
      crypto::hmac_sha256(cfg.cluster.cookie, "cafmcp requestState key"));
  }
  auto workers = std::make_shared<protocol::tool_workers>(names, cfg.tool_workers);
  env.tool_worker = [workers] { return workers->next(); };
  // In a cluster the replicator keeps sessions and handles on several
  // members; it serves the session manager's API.
  env.session_manager = [names, which = std::string{cfg.cluster.enabled ? "replicator" : "session_manager"}] {
    return names->lookup(which);
  };
  env.list_ttl = cfg.list_ttl;
  if (cfg.web.request_metrics)
    env.metrics = metrics;
  env.session_renew = std::min(std::chrono::milliseconds{30000}, cfg.core.sessions.ttl / 3);
  env.max_inflight = cfg.max_inflight_calls;
  env.limits = cfg.core.limits;
  env.breakers = cfg.core.breakers;
  env.faults = cfg.faults;
  if (cfg.cluster.enabled)
    env.refusal = [view] { return view->fenced(); }; // the losing side of a partition answers -32030
  if (cfg.cluster.enabled)
    replicate_tasks(env, names, cfg.name, cfg.tasks.ttl, orphans, task_registry);
  start_upstreams(sys, cfg, env.catalog, names, metrics);
  if (cfg.upstream_fleet) // the cluster's version may name other upstreams (cafmcp upstreams add|remove)
    cfg.upstream_fleet->serve({&sys, env.catalog, names, metrics, cfg.restart_backoff});
  // Always there: in a cluster a routing version may name tenants (cafmcp tenants add).
  env.tenants = cfg.tenants;
  cfg.tenants->on_replace([hub = env.hub()] {
    // What a tenant sees may have changed: clients list again.
    for (auto kind : {protocol::list_kind::tools, protocol::list_kind::prompts, protocol::list_kind::resources})
      hub->list_changed(kind);
  });
  // In a cluster the rules may change at run time (cafmcp routes add), so
  // the node always looks; without one only the config's rules exist.
  if (!cfg.routes.empty() || cfg.cluster.enabled) {
    env.routes = cfg.live_routes;
    env.route_metrics = metrics;
  }
  if (!cfg.routes.empty())
    log::info("/", "routing tools/call by " + std::to_string(cfg.routes.size()) + " rules (version 1)");
  if (cfg.cluster.enabled) // last: the member_tools agent serves other members' calls with the whole env
    serve_member_calls(env, names, view, cfg.name, cfg.member_call_timeout, cfg.member_endpoint);
  caf::actor http_listener;
  if (cfg.http_enabled) {
    auto http = cfg.http_limits;
    http.metrics = metrics;
    http.host = cfg.http_host;
    http.port = cfg.http_port;
    http.path = cfg.http_path;
    http.max_message = cfg.max_message_bytes;
    http.allowed_origins = cfg.http_allowed_origins;
    http.threads = cfg.http_threads;
    http.session_ttl = cfg.core.sessions.ttl;
    http.max_sessions = cfg.http_max_sessions;
    http.keepalive = cfg.http_keepalive;
    http.routes = env.routes;
    caf::scoped_actor self{sys};
    caf::error err;
    self->request(names->lookup("transport_sup"), start_timeout, supervision::start_child_atom::value,
                  caf::make_message(protocol::http_listener(http, env, [names] {
                    return names->lookup("server_sup");
                  })))
      .receive([&](caf::actor& listener) { http_listener = listener; }, [&](caf::error& e) { err = std::move(e); });
    if (err) {
      log::error("/", "node failed to start: " + sys.render(err));
      stop_tree(sys, root, cfg.shutdown_grace);
      return 1;
    }
  }
  std::thread stdio_thread;
  if (opts.stdio) {
    // stdin/stdout belong to the MCP client; the node stops when stdin closes.
    stdio_thread = std::thread([env, max = cfg.max_message_bytes] {
      auto ep = std::make_shared<protocol::endpoint>(env);
      protocol::serve_stdio(ep, STDIN_FILENO, STDOUT_FILENO, max);
      log::info("/", "stdin closed; stopping");
      kill(getpid(), SIGTERM);
    });
    log::info("/", "serving MCP on stdio");
  }
  // Ready once everything serves; the tree now includes the listener.
  if (auto tree = supervision::collect_tree(sys, root, "root", "/root", std::chrono::seconds(5)))
    log::info("/", "supervision tree:\n" + supervision::draw_tree(*tree));
  // One line with every bound address, for people and for scripts and
  // tests (which wait for this whole line, not for a word in it).
  log::info("/", "node " + cfg.name + " ready " + bound_addresses(sys, cfg, http_listener, names->lookup("web")));

  int sig = 0;
  sigwait(&signals, &sig);
  log::info("/", std::string{"received "} + signal_name(sig) + "; stopping");
  env.hub()->close_all(); // listen streams end gracefully before the transports stop
  if (cfg.cluster.enabled) {
    // Graceful leave: the others see "leaving", not a failure.
    if (auto node = names->lookup("node")) {
      if (auto err = cluster::leave(sys, node, 3 * cfg.cluster.heartbeat + std::chrono::seconds(1)))
        log::warning("/", "leaving the cluster: " + sys.render(err));
      else
        log::info("/", "left the cluster");
    }
  }
  // A second signal, or an orderly stop that overruns the grace period,
  // ends the process at once.
  std::thread([signals]() mutable {
    int again = 0;
    sigwait(&signals, &again);
    log::warning("/", std::string{"received "} + signal_name(again) + " again; exiting now");
    std::_Exit(1);
  }).detach();

  if (!stop_tree(sys, root, cfg.shutdown_grace)) {
    log::error("/", "the tree did not stop within " + std::to_string(cfg.shutdown_grace.count())
                      + " ms; exiting anyway");
    std::_Exit(1);
  }
  log::info("/", "node " + cfg.name + " stopped");
  if (stdio_thread.joinable())
    stdio_thread.detach(); // may still block in read() if stopped by a signal
  if (cfg.cluster.enabled) {
    // A connect attempt to an unreachable peer may still block inside CAF's
    // middleman (remote_actor has no timeout) and would hold the actor
    // system's destructor: the tree is stopped, so leave now.
    std::fflush(nullptr);
    std::_Exit(0);
  }
  return 0;
}

} // namespace cafmcp::cli
