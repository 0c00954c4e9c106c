// The cafmcp command line (docs/ARCHITECTURE.md, "Command line"), as a
// function so that a server author's binary offers the same commands.

#include "cli/app.hpp"

#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/node_command.hpp"

namespace cafmcp::cli {

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
  std::string host;
  int http_port = -1;
  node_cmd->add_option("--host", host, "address of the MCP HTTP endpoint (default 127.0.0.1)");
  node_cmd->add_option("--http-port", http_port, "port of the MCP HTTP endpoint (default 8080; 0: any free port)")
    ->check(CLI::Range(0, 65535));
  node_cmd->add_flag("--stdio", node.stdio,
                     "serve MCP on stdin/stdout (newline-delimited JSON-RPC; logs stay on stderr)");
  node_cmd->add_flag("--print-config", node.print_config,
                     "print the effective config (defaults filled in) and exit");
  node_cmd->add_flag("--describe-config", node.describe_config,
                     "print every config key with its type, default and meaning (Markdown) and exit");

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
    if (!host.empty())
      node.overrides.host = host;
    if (http_port >= 0)
      node.overrides.http_port = http_port;
    return run_node(node);
  }
  return 2;
}

} // namespace cafmcp::cli
