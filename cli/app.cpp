// The cafmcp command line (docs/ARCHITECTURE.md, "Command line"), as a
// function so that a server author's binary offers the same commands.

#include "cli/app.hpp"

#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/audit_command.hpp"
#include "cli/backup_command.hpp"
#include "cli/routes_command.hpp"
#include "cli/token_command.hpp"
#include "cli/cert_command.hpp"
#include "cli/cluster_command.hpp"
#include "cli/node_command.hpp"
#include "cli/shell_command.hpp"
#include "cli/status_command.hpp"

namespace cafmcp::cli {

namespace {

/// --node, --cookie-file, --config, --certs-dir, --user and --insecure: how status and shell reach a node.
/// (`with_config` false: the command has a --config of its own, which it passes on.)
void add_connection_options(CLI::App& cmd, connection_options& opts, bool with_config = true) {
  cmd.add_option("--node", opts.node, "a node's cluster port, HOST:PORT")->capture_default_str();
  cmd.add_option("--cookie-file", opts.cookie_file, "the cluster cookie (default $HOME/.cafmcp.cookie)");
  if (with_config)
    cmd.add_option("--config", opts.config_file, "a node's config: its cookie file, certs_dir and insecure setting")
      ->check(CLI::ExistingFile);
  cmd.add_option("--certs-dir", opts.certs_dir,
                 "ca.crt and client.USER.crt/.key (default: the config's cluster.certs_dir, else $HOME/.cafmcp/certs)");
  cmd.add_option("--user", opts.user, "whose client certificate to present; the node allows what its role allows")
    ->capture_default_str();
  cmd.add_flag("--insecure", opts.insecure, "plain BASP, cookie only: for a node with cluster.insecure");
}

/// One word of a shell command line, quoted as the shell reads it back.
std::string shell_word(const std::string& x) {
  std::string q = "'";
  for (char ch : x)
    q += ch == '\'' ? std::string{"'\\''"} : std::string(1, ch);
  return q + "'";
}

/// The shell command that `cafmcp COMMAND add|remove|list` runs once:
/// "COMMAND add|replace NAME BODY", "COMMAND remove NAME" or "COMMAND".
std::string shell_change(const std::string& command, bool add, bool remove, bool replace, const std::string& name,
                         const std::string& body) {
  if (add)
    return command + (replace ? " replace " : " add ") + shell_word(name) + " " + shell_word(body);
  if (remove)
    return command + " remove " + shell_word(name);
  return command;
}

} // namespace

int run(int argc, char** argv, std::function<void(protocol::catalog&)> extend) {
  CLI::App app{"cafmcp: an MCP server runtime on the C++ Actor Framework, supervised like Erlang/OTP"};
  app.set_version_flag("--version", "cafmcp " CAFMCP_VERSION);
  app.require_subcommand(1);

  node_options node;
  node.extend = std::move(extend);
  std::string name, config_file, log_level, log_format;
  auto* node_cmd = app.add_subcommand("node", "run one node until SIGINT/SIGTERM");
  node_cmd->add_option("--name", name, "node name (overrides the config file)");
  node_cmd->add_option("--config", config_file, "JSON config file")->check(CLI::ExistingFile);
  node_cmd->add_option("--log-level", log_level, "debug, info, warning or error");
  node_cmd->add_option("--log-format", log_format, "text or json");
  std::string log_file;
  node_cmd->add_option("--log-file", log_file, "append log lines to this file instead of stderr");
  std::string host;
  int http_port = -1;
  node_cmd->add_option("--host", host, "address of the MCP HTTP endpoint (default 127.0.0.1)");
  node_cmd->add_option("--http-port", http_port, "port of the MCP HTTP endpoint (default 8080; 0: any free port)")
    ->check(CLI::Range(0, 65535));
  int metrics_port = -1;
  node_cmd->add_option("--metrics-port", metrics_port,
                       "port of /metrics, /health and /ready (default 9464; 0: any free port)")
    ->check(CLI::Range(0, 65535));
  std::string otlp_endpoint;
  node_cmd->add_option("--otlp-endpoint", otlp_endpoint,
                       "trace requests and export the spans over OTLP/HTTP to this URL "
                       "(e.g. http://127.0.0.1:4318/v1/traces)");
  int cluster_port = -1;
  std::string cluster_host;
  std::vector<std::string> seeds;
  std::string cookie_file;
  node_cmd->add_option("--cluster-port", cluster_port, "cluster port for other nodes (default 4370); joins a cluster")
    ->check(CLI::Range(1, 65535));
  node_cmd->add_option("--cluster-host", cluster_host,
                       "address the cluster port binds to and gives to other nodes (default 127.0.0.1)");
  std::string audit_log;
  node_cmd->add_option("--audit-log", audit_log, "the admin shell's audit log (config admin.audit_log)");
  std::string audit_key;
  node_cmd->add_option("--audit-key", audit_key,
                       "the key of the audit log's chain (config admin.audit_key_file; default: the log's path + .key)");
  std::string data_dir;
  node_cmd->add_option("--data-dir", data_dir, "where a cluster node keeps its replicas (config data_dir)");
  node_cmd->add_option("--seeds", seeds, "HOST:PORT of nodes to join through (comma-separated)")->delimiter(',');
  node_cmd->add_option("--cookie-file", cookie_file, "the cluster cookie (default $HOME/.cafmcp.cookie)");
  std::string certs_dir;
  node_cmd->add_option("--certs-dir", certs_dir,
                       "node.NAME.crt/.key and ca.crt for mutual TLS (config cluster.certs_dir; default "
                       "$HOME/.cafmcp/certs)");
  node_cmd->add_flag("--insecure", node.overrides.insecure,
                     "plain BASP without TLS, cookie only (config cluster.insecure; loopback addresses only)");
  node_cmd->add_flag("--stdio", node.stdio,
                     "serve MCP on stdin/stdout (newline-delimited JSON-RPC; logs stay on stderr); no HTTP or "
                     "observability port unless --http-port/--metrics-port or the config file asks for one");
  node_cmd->add_flag("--print-config", node.print_config,
                     "print the effective config (defaults filled in) and exit");
  node_cmd->add_flag("--describe-config", node.describe_config,
                     "print every config key with its type, default and meaning (Markdown) and exit");

  auto* cluster_cmd = app.add_subcommand("cluster", "start or stop a local multi-node cluster");
  cluster_cmd->require_subcommand(1);
  cluster_up_options up;
  auto* up_cmd = cluster_cmd->add_subcommand("up", "start N nodes on 127.0.0.1 and wait until all are up");
  up_cmd->add_option("--nodes", up.nodes, "how many nodes (1 … 32)")->capture_default_str();
  up_cmd->add_option("--base-port", up.base_port,
                     "node k listens on cluster port P+3(k-1) and MCP HTTP port P+3(k-1)+1")
    ->capture_default_str();
  up_cmd->add_option("--data-dir", up.data_dir, "logs and the pid file")->capture_default_str();
  up_cmd->add_option("--config", up.config_file, "a JSON config for every node")->check(CLI::ExistingFile);
  up_cmd->add_option("--cookie-file", up.cookie_file, "the cluster cookie (default $HOME/.cafmcp.cookie)");
  up_cmd->add_option("--certs-dir", up.certs_dir,
                     "the CA, node and client certificates, created on first use (default $HOME/.cafmcp/certs)");
  up_cmd->add_flag("--insecure", up.insecure, "plain BASP between the nodes, cookie only (cluster.insecure)");
  up_cmd->add_flag("--detach", up.detach, "leave the nodes running (stop them with cafmcp cluster down)");
  std::string down_dir = "cafmcp-cluster";
  auto* down_cmd = cluster_cmd->add_subcommand("down", "stop the nodes of `cluster up --detach`");
  down_cmd->add_option("--data-dir", down_dir, "where cluster up wrote its pid file")->capture_default_str();

  status_options status;
  auto* status_cmd = app.add_subcommand("status", "show the cluster as one node sees it");
  add_connection_options(*status_cmd, status.connection);
  status_cmd->add_flag("--json", status.json, "JSON for scripts");
  status_cmd->add_flag("--watch", status.watch, "refresh every second until Enter");

  shell_options shell;
  auto* shell_cmd = app.add_subcommand("shell", "the admin shell: see and supervise every node's actors");
  add_connection_options(*shell_cmd, shell.connection);
  shell_cmd->add_option("-c,--command", shell.command, "run one command and exit (0 ok, 1 failed, 2 bad usage)");
  shell_cmd->add_flag("--json", shell.json, "JSON output for scripts");
  shell_cmd->add_option("--history-file", shell.history_file, "where the history is kept (default $HOME/.cafmcp_history)");

  shell_options failover;
  std::string failover_from, failover_to;
  auto* failover_cmd = app.add_subcommand(
    "failover", "manual failover: drain a member, moving its session primaries with no acknowledged write lost");
  add_connection_options(*failover_cmd, failover.connection);
  failover_cmd->add_option("--from", failover_from, "the member to drain")->required();
  failover_cmd->add_option("--to", failover_to, "the member its primaries move to (default: each record's next replica)");
  failover_cmd->add_flag("--json", failover.json, "JSON for scripts");

  shell_options chaos;
  auto* chaos_cmd = app.add_subcommand("chaos", "chaos experiments: start, list and stop faults injected on purpose");
  add_connection_options(*chaos_cmd, chaos.connection);
  chaos_cmd->require_subcommand(1);
  std::string chaos_spec, chaos_id, chaos_member;
  auto* chaos_start_cmd = chaos_cmd->add_subcommand("start", "start an experiment on every member (or --member)");
  chaos_start_cmd->add_option("spec", chaos_spec, "the experiment as JSON (see `cafmcp shell -c 'help chaos'`)")->required();
  auto* chaos_list_cmd = chaos_cmd->add_subcommand("list", "active and recently ended experiments");
  auto* chaos_stop_cmd = chaos_cmd->add_subcommand("stop", "stop an experiment before its time");
  chaos_stop_cmd->add_option("id", chaos_id, "the experiment's id, or all")->required();
  for (auto* sub : {chaos_start_cmd, chaos_list_cmd, chaos_stop_cmd}) {
    sub->add_option("--member", chaos_member, "only this member");
    sub->fallthrough(); // --node, --json … may follow the verb
  }
  chaos_cmd->add_flag("--json", chaos.json, "JSON for scripts");

  backup_options backup;
  auto* backup_cmd = app.add_subcommand("backup", "encrypted backups of the cluster's sessions, handles and tasks");
  backup_cmd->require_subcommand(1);
  auto add_key_options = [&](CLI::App& cmd) {
    cmd.add_option("--key-file", backup.key_file, "the 32-byte key (mode 0600; make one with backup keygen)");
    cmd.add_option("--passphrase-file", backup.passphrase_file,
                   "a file (mode 0600) whose first line is the passphrase (else CAFMCP_BACKUP_PASSPHRASE, else "
                   "asked on the terminal)");
    cmd.add_flag("--json", backup.json, "JSON for scripts");
  };
  auto* backup_keygen_cmd = backup_cmd->add_subcommand("keygen", "write a new random backup key file (mode 0600)");
  backup_keygen_cmd->add_option("--out", backup.file, "the key file to create (never replaced)")->required();
  auto* backup_create_cmd = backup_cmd->add_subcommand(
    "create", "back up every record as of one moment, read from each record's primary, into one encrypted file");
  backup_create_cmd->add_option("--out", backup.file, "the backup file to create (never replaced)")->required();
  add_connection_options(*backup_create_cmd, backup.connection);
  add_key_options(*backup_create_cmd);
  auto* backup_verify_cmd = backup_cmd->add_subcommand(
    "verify", "check every chunk's tag and hash and the manifest without restoring; names the first problem");
  backup_verify_cmd->add_option("FILE", backup.file, "the backup")->required();
  add_key_options(*backup_verify_cmd);
  auto* backup_restore_cmd = backup_cmd->add_subcommand(
    "restore", "restore a backup into a running cluster (checked whole first; newer data in the cluster wins)");
  backup_restore_cmd->add_option("FILE", backup.file, "the backup")->required();
  backup_restore_cmd->add_flag("--overwrite", backup.overwrite,
                               "the backup's values win over newer ones in the cluster (deleted records come back)");
  add_connection_options(*backup_restore_cmd, backup.connection);
  add_key_options(*backup_restore_cmd);
  auto* backup_test_cmd = backup_cmd->add_subcommand(
    "test-restore", "restore into a temporary local node, read it back and compare record counts and digests");
  backup_test_cmd->add_option("FILE", backup.file, "the backup")->required();
  add_key_options(*backup_test_cmd);
  auto* audit_cmd = app.add_subcommand("audit", "the audit log of changes made through the admin shell");
  audit_cmd->require_subcommand(1);
  std::string audit_file, audit_verify_key;
  auto* verify_cmd = audit_cmd->add_subcommand(
    "verify", "check an audit log's keyed chain; names the first broken line (0 intact, 1 broken, 2 unreadable)");
  verify_cmd->add_option("FILE", audit_file, "the audit log (admin.audit_log)")->required()->check(CLI::ExistingFile);
  verify_cmd->add_option("--key", audit_verify_key, "the node's audit key (admin.audit_key_file; default FILE.key)");

  token_options token;
  auto* token_cmd = app.add_subcommand("token", "static API tokens for the MCP endpoint's bearer authorisation");
  token_cmd->require_subcommand(1);
  auto* token_create_cmd = token_cmd->add_subcommand(
    "create", "make a token and print it with its mcp.auth.static_tokens entry (which holds only its hash)");
  token_create_cmd->add_option("--subject", token.subject, "whom the token stands for (logs, session binding)")
    ->required()
    ->check([](const std::string& s) {
      return s.find_first_of(" \t\n") == std::string::npos ? std::string{} : std::string{"no spaces in a subject"};
    });
  token_create_cmd->add_option("--scopes", token.scopes, "comma-separated scopes the token carries");
  token_create_cmd->add_option("--tenant", token.tenant, "the tenant the token belongs to");

  routes_options routes;
  shell_options routes_shell; // with --node: the cluster's rules, through the shell's `routes`
  std::string route_id, route_rule;
  bool route_replace = false;
  auto* routes_cmd = app.add_subcommand(
    "routes", "routing rules: of a node config (--config), or of a running cluster (--node): list, add, remove, test");
  routes_cmd->require_subcommand(1);
  auto* routes_list_cmd = routes_cmd->add_subcommand(
    "list", "the rules in the order a node tries them (--node: each member's version, and the newest rules)");
  auto* routes_test_cmd = routes_cmd->add_subcommand(
    "test", "which rule a sample tools/call matches and why (exit 1 when its rule has nothing available)");
  for (auto* sub : {routes_list_cmd, routes_test_cmd}) {
    sub->add_option("--config", routes.config_file, "the node config (routes; with --node: how to reach it)")
      ->check(CLI::ExistingFile);
    add_connection_options(*sub, routes_shell.connection, false);
    sub->add_flag("--json", routes_shell.json, "with --node: JSON for scripts");
  }
  routes_test_cmd->add_option("--name", routes.name, "the tool called")->required();
  routes_test_cmd->add_option("--tenant", routes.tenant, "the caller's tenant (default: none)");
  routes_test_cmd->add_option("--method", routes.method, "the request's method")->capture_default_str();
  routes_test_cmd->add_option("--header", routes.headers, "a request header, \"Name: value\" (repeatable)");
  routes_test_cmd->add_option("--down", routes.down, "a tool to treat as unavailable (repeatable)");
  auto* routes_add_cmd = routes_cmd->add_subcommand(
    "add", "add a rule to a running cluster's rules: a new version every member applies (role admin; audited)");
  routes_add_cmd->add_option("id", route_id, "the rule's id")->required();
  routes_add_cmd->add_option("rule", route_rule, "the rule as JSON, as under \"routes\" in the config")->required();
  routes_add_cmd->add_flag("--replace", route_replace, "replace a rule of that id (else one is an error)");
  auto* routes_remove_cmd = routes_cmd->add_subcommand(
    "remove", "remove a rule from a running cluster's rules: a new version every member applies (role admin; audited)");
  routes_remove_cmd->add_option("id", route_id, "the rule's id")->required();
  for (auto* sub : {routes_add_cmd, routes_remove_cmd}) {
    add_connection_options(*sub, routes_shell.connection);
    sub->add_flag("--json", routes_shell.json, "JSON for scripts");
  }

  std::string upstream_name, upstream_entry;
  bool upstream_replace = false;
  shell_options upstreams_shell; // the shell's `upstreams`, run once
  auto* upstreams_cmd = app.add_subcommand(
    "upstreams", "upstream MCP servers of a running cluster (--node): list, add, remove (every member runs them)");
  upstreams_cmd->require_subcommand(1);
  auto* upstreams_list_cmd = upstreams_cmd->add_subcommand("list", "each member's version and the upstreams it names");
  auto* upstreams_add_cmd = upstreams_cmd->add_subcommand(
    "add", "add an upstream on every member (role admin; audited without the entry)");
  upstreams_add_cmd->add_option("name", upstream_name, "its name: the namespace of its tools")->required();
  upstreams_add_cmd->add_option("entry", upstream_entry, "the upstream as JSON, as under \"upstreams\" in the config")
    ->required();
  upstreams_add_cmd->add_flag("--replace", upstream_replace, "replace an upstream of that name (else one is an error)");
  auto* upstreams_remove_cmd = upstreams_cmd->add_subcommand(
    "remove", "stop an upstream on every member and take its tools out (role admin; audited)");
  upstreams_remove_cmd->add_option("name", upstream_name, "its name")->required();
  for (auto* sub : {upstreams_list_cmd, upstreams_add_cmd, upstreams_remove_cmd}) {
    add_connection_options(*sub, upstreams_shell.connection);
    sub->add_flag("--json", upstreams_shell.json, "JSON for scripts");
  }

  shell_options tenants_shell; // the shell's `tenants`, run once
  std::string tenant_name, tenant_entry;
  bool tenant_replace = false;
  auto* tenants_cmd = app.add_subcommand(
    "tenants", "tenants of a running cluster (--node): list, add, remove (every member applies them)");
  tenants_cmd->require_subcommand(1);
  auto* tenants_list_cmd = tenants_cmd->add_subcommand("list", "each member's version and the tenants it names");
  auto* tenants_add_cmd = tenants_cmd->add_subcommand(
    "add", "add a tenant's catalog view and rate limit on every member (role admin; audited)");
  tenants_add_cmd->add_option("name", tenant_name, "the tenant, as tokens or http.tenant_header name it")->required();
  tenants_add_cmd->add_option("entry", tenant_entry, "the tenant as JSON, as under \"tenants\" in the config")
    ->required();
  tenants_add_cmd->add_flag("--replace", tenant_replace, "replace a tenant of that name (else one is an error)");
  auto* tenants_remove_cmd = tenants_cmd->add_subcommand(
    "remove", "remove a tenant on every member: its callers see the whole catalog (role admin; audited)");
  tenants_remove_cmd->add_option("name", tenant_name, "its name")->required();
  for (auto* sub : {tenants_list_cmd, tenants_add_cmd, tenants_remove_cmd}) {
    add_connection_options(*sub, tenants_shell.connection);
    sub->add_flag("--json", tenants_shell.json, "JSON for scripts");
  }

  cert_options cert;
  auto* cert_cmd = app.add_subcommand("cert", "the cluster's certificates: a CA, node and client certificates");
  cert_cmd->require_subcommand(1);
  auto add_certs_dir = [&](CLI::App& cmd) {
    cmd.add_option("--certs-dir", cert.certs_dir, "the certificates directory (default $HOME/.cafmcp/certs)");
  };
  auto add_ca_key = [&](CLI::App& cmd) {
    cmd.add_option("--ca-key", cert.ca_key, "the CA's private key (default DIR/ca.key)");
  };
  auto* create_ca_cmd = cert_cmd->add_subcommand("create-ca", "a new CA: ca.crt and ca.key (never replaces one)");
  add_certs_dir(*create_ca_cmd);
  auto* create_node_cmd = cert_cmd->add_subcommand("create-node", "a node's certificate and key, signed by the CA");
  create_node_cmd->add_option("NAME", cert.name, "the node's name (its subject CN)")->required();
  // One value per --host, so that NAME after a --host is not taken for one.
  create_node_cmd->add_option("--host", cert.hosts, "an IP address or DNS name the node is reached at (repeatable; "
                                                    "default 127.0.0.1 and localhost)")
    ->allow_extra_args(false);
  add_certs_dir(*create_node_cmd);
  add_ca_key(*create_node_cmd);
  auto* create_client_cmd =
    cert_cmd->add_subcommand("create-client", "an operator's certificate and key, signed by the CA");
  create_client_cmd->add_option("USER", cert.name, "the operator's user name (its subject CN)")->required();
  create_client_cmd->add_option("--role", cert.role, "admin or viewer (its subject OU)")
    ->check(CLI::IsMember({"admin", "viewer"}))
    ->capture_default_str();
  add_certs_dir(*create_client_cmd);
  add_ca_key(*create_client_cmd);
  auto* cert_list_cmd = cert_cmd->add_subcommand("list", "every certificate in the directory, who it names, its expiry");
  add_certs_dir(*cert_list_cmd);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e); // prints the message
    return 2;    // bad usage
  }

  if (node_cmd->parsed()) {
    if (!config_file.empty())
      node.config_file = config_file;
    if (!name.empty())
      node.overrides.name = name;
    if (!log_level.empty())
      node.overrides.log_level = log_level;
    if (!log_format.empty())
      node.overrides.log_format = log_format;
    if (!log_file.empty())
      node.overrides.log_file = log_file;
    if (!host.empty())
      node.overrides.host = host;
    if (http_port >= 0)
      node.overrides.http_port = http_port;
    if (metrics_port >= 0)
      node.overrides.metrics_port = metrics_port;
    if (!otlp_endpoint.empty())
      node.overrides.otlp_endpoint = otlp_endpoint;
    if (cluster_port > 0)
      node.overrides.cluster_port = cluster_port;
    if (!seeds.empty())
      node.overrides.seeds = seeds;
    if (!cluster_host.empty())
      node.overrides.cluster_host = cluster_host;
    if (!audit_log.empty())
      node.overrides.audit_log = audit_log;
    if (!audit_key.empty())
      node.overrides.audit_key_file = audit_key;
    if (!data_dir.empty())
      node.overrides.data_dir = data_dir;
    if (!cookie_file.empty())
      node.overrides.cookie_file = cookie_file;
    if (!certs_dir.empty())
      node.overrides.certs_dir = certs_dir;
    return run_node(node);
  }
  if (up_cmd->parsed())
    return run_cluster_up(up);
  if (down_cmd->parsed())
    return run_cluster_down(down_dir);
  if (status_cmd->parsed())
    return run_status(status);
  if (shell_cmd->parsed())
    return run_shell(shell);
  if (failover_cmd->parsed()) {
    // The shell's `failover` command, run once (the same checks and output).
    failover.command = "failover " + failover_from + (failover_to.empty() ? "" : " " + failover_to);
    return run_shell(failover);
  }
  if (chaos_cmd->parsed()) {
    // The shell's `chaos` command, run once (the same checks and output).
    auto member = chaos_member.empty() ? std::string{} : shell_word(chaos_member) + " ";
    chaos.command = chaos_start_cmd->parsed()  ? "chaos start " + member + shell_word(chaos_spec)
                    : chaos_stop_cmd->parsed() ? "chaos stop " + member + shell_word(chaos_id)
                                               : "chaos list " + member;
    return run_shell(chaos);
  }
  if (backup_keygen_cmd->parsed())
    return run_backup_keygen(backup);
  if (backup_create_cmd->parsed())
    return run_backup_create(backup);
  if (backup_verify_cmd->parsed())
    return run_backup_verify(backup);
  if (backup_restore_cmd->parsed())
    return run_backup_restore(backup);
  if (backup_test_cmd->parsed())
    return run_backup_test_restore(backup);
  if (token_create_cmd->parsed())
    return run_token_create(token);
  if (routes_cmd->parsed()) {
    bool cluster = routes_add_cmd->parsed() || routes_remove_cmd->parsed()
                   || (routes_list_cmd->parsed() ? routes_list_cmd : routes_test_cmd)->count("--node") > 0;
    if (!cluster) {
      if (routes.config_file.empty()) {
        std::cerr << "cafmcp routes: give --config FILE (a node config's rules) or --node HOST:PORT (a running "
                     "cluster's)\n";
        return 2;
      }
      return routes_list_cmd->parsed() ? run_routes_list(routes) : run_routes_test(routes);
    }
    // The shell's `routes` command, run once (the same checks and output).
    if (routes_shell.connection.config_file.empty())
      routes_shell.connection.config_file = routes.config_file;
    if (routes_add_cmd->parsed()) {
      routes_shell.command = std::string{"routes "} + (route_replace ? "replace " : "add ") + shell_word(route_id) + " "
                             + shell_word(route_rule);
    } else if (routes_remove_cmd->parsed()) {
      routes_shell.command = "routes remove " + shell_word(route_id);
    } else if (routes_list_cmd->parsed()) {
      routes_shell.command = "routes";
    } else {
      routes_shell.command = "routes test " + shell_word(routes.name) + " --method " + shell_word(routes.method);
      if (!routes.tenant.empty())
        routes_shell.command += " --tenant " + shell_word(routes.tenant);
      for (auto& h : routes.headers)
        routes_shell.command += " --header " + shell_word(h);
      for (auto& d : routes.down)
        routes_shell.command += " --down " + shell_word(d);
    }
    return run_shell(routes_shell);
  }
  if (upstreams_cmd->parsed()) {
    // The shell's `upstreams` command, run once (the same checks and output).
    upstreams_shell.command = shell_change("upstreams", upstreams_add_cmd->parsed(), upstreams_remove_cmd->parsed(),
                                           upstream_replace, upstream_name, upstream_entry);
    return run_shell(upstreams_shell);
  }
  if (tenants_cmd->parsed()) {
    // The shell's `tenants` command, run once (the same checks and output).
    tenants_shell.command = shell_change("tenants", tenants_add_cmd->parsed(), tenants_remove_cmd->parsed(),
                                         tenant_replace, tenant_name, tenant_entry);
    return run_shell(tenants_shell);
  }
  if (verify_cmd->parsed())
    return run_audit_verify(audit_file, audit_verify_key.empty() ? audit_file + ".key" : audit_verify_key);
  if (create_ca_cmd->parsed())
    return run_cert_create_ca(cert);
  if (create_node_cmd->parsed())
    return run_cert_create_node(cert);
  if (create_client_cmd->parsed())
    return run_cert_create_client(cert);
  if (cert_list_cmd->parsed())
    return run_cert_list(cert);
  return 2;
}

} // namespace cafmcp::cli
