// `cafmcp shell` on a terminal: line editing, history, completion, -c.
#include "cli/shell_command.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include <poll.h>
#include <pwd.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <editline/readline.h>

#include "actors/messages.hpp"
#include "cli/shell.hpp"
#include "cluster/client.hpp"
#include "cluster/messages.hpp"
#include "supervision/messages.hpp"

namespace cafmcp::cli {

namespace {

constexpr auto attach_timeout = std::chrono::seconds(5);

/// user@host: who the audit log says made a change.
std::string operator_name() {
  std::string user;
  if (auto* pw = getpwuid(getuid()))
    user = pw->pw_name;
  else if (auto* u = std::getenv("USER"))
    user = u;
  else
    user = "uid" + std::to_string(getuid());
  char host[256] = {0};
  if (gethostname(host, sizeof host - 1) != 0)
    std::strcpy(host, "unknown");
  return user + "@" + host;
}

// libedit calls plain functions: the shell they complete for.
shell* completing = nullptr;
std::vector<std::string> candidates;

char* next_candidate(const char*, int state) {
  static size_t i = 0;
  if (state == 0)
    i = 0;
  if (i < candidates.size())
    return strdup(candidates[i++].c_str());
  return nullptr;
}

char** complete_word(const char* text, int start, int) {
  rl_attempted_completion_over = 1; // never fall back to file names
  if (!completing)
    return nullptr;
  std::string before{rl_line_buffer, rl_line_buffer + std::max(0, start)};
  candidates = completing->complete(before, text);
  if (candidates.size() == 1 && !candidates[0].empty() && candidates[0].back() == ':')
    rl_completion_append_character = '\0';
  else
    rl_completion_append_character = ' ';
  return rl_completion_matches(text, next_candidate);
}

/// Waits for a key without needing Enter (the terminal leaves canonical
/// mode meanwhile); a closed or non-terminal stdin counts as a key when it
/// has input or ends.
bool wait_for_key(std::chrono::milliseconds wait) {
  termios saved{};
  bool tty = ::tcgetattr(STDIN_FILENO, &saved) == 0;
  if (tty) {
    auto raw = saved;
    raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    ::tcsetattr(STDIN_FILENO, TCSANOW, &raw);
  }
  pollfd p{STDIN_FILENO, POLLIN, 0};
  bool pressed = ::poll(&p, 1, static_cast<int>(wait.count())) > 0;
  if (pressed && tty) {
    char c;
    [[maybe_unused]] auto n = ::read(STDIN_FILENO, &c, 1); // the key is not a command
  }
  if (tty)
    ::tcsetattr(STDIN_FILENO, TCSANOW, &saved);
  return pressed;
}

} // namespace

int run_shell(const shell_options& opts) {
  connection_settings conn;
  try {
    conn = resolve_connection(opts.connection);
  } catch (const std::exception& e) {
    std::cerr << "cafmcp shell: " << e.what() << '\n';
    return 2;
  }
  caf::actor_system_config cfg;
  cluster::register_types(cfg);
  supervision::register_types(cfg);
  actors::register_types(cfg);
  cluster::configure_transport(cfg, conn.tls);
  caf::actor_system sys{cfg};
  shell sh{sys,
           [&] { return cluster::attach(sys, conn.host, conn.port, conn.cookie, attach_timeout, conn.creds); },
           opts.connection.node, operator_name(), opts.json};
  // The middleman may keep a connection attempt alive: never wait for it
  // on the way out (as `cafmcp status`).
  auto leave = [](int rc) {
    std::fflush(nullptr);
    std::_Exit(rc);
  };
  if (!opts.command.empty()) {
    if (!sh.connect(std::cerr))
      leave(1);
    leave(sh.execute(opts.command, std::cout, std::cerr));
  }

  bool interactive = ::isatty(STDIN_FILENO) == 1;
  if (!sh.connect(std::cerr))
    leave(1);
  std::string history = opts.history_file;
  if (history.empty()) {
    auto* home = std::getenv("HOME");
    history = std::string{home ? home : "."} + "/.cafmcp_history";
  }
  if (interactive) {
    rl_readline_name = "cafmcp";
    rl_attempted_completion_function = complete_word;
    static char breaks[] = " \t";
    rl_basic_word_break_characters = breaks;
    rl_completer_word_break_characters = breaks;
    completing = &sh;
    stifle_history(1000);
    read_history(history.c_str()); // none yet is fine
    sh.stop_watching = wait_for_key;
    std::cout << "cafmcp shell on " << opts.connection.node << " — help lists the commands, Tab completes, quit leaves\n";
  }
  int last = 0;
  while (!sh.quit_requested()) {
    std::string line;
    if (interactive) {
      char* raw = readline("cafmcp> ");
      if (!raw) {
        std::cout << '\n';
        break;
      }
      line = raw;
      std::free(raw);
      if (line.find_first_not_of(" \t") != std::string::npos) {
        add_history(line.c_str());
        write_history(history.c_str());
      }
    } else if (!std::getline(std::cin, line)) {
      break;
    }
    last = sh.execute(line, std::cout, std::cerr);
    std::cout << std::flush;
  }
  if (interactive)
    ::chmod(history.c_str(), 0600); // commands may name sessions
  leave(interactive ? 0 : last);
  return 0;
}

} // namespace cafmcp::cli
