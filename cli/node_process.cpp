// Node processes started by the command line: spawned, watched and stopped by PID.
#include "cli/node_process.hpp"

#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <thread>

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace cafmcp::cli {

using namespace std::chrono_literals;

bool port_free(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  ::close(fd);
  return ok;
}

int pick_free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0
      && ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

std::string self_exe() {
  char buf[4096];
  auto n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0)
    return "cafmcp";
  buf[n] = '\0';
  return buf;
}

pid_t spawn_node(const std::vector<std::string>& argv, const std::string& log) {
  pid_t pid = ::fork();
  if (pid != 0)
    return pid;
  ::setsid();
  int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  int null = ::open("/dev/null", O_RDONLY);
  if (fd >= 0) {
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
  }
  if (null >= 0)
    ::dup2(null, STDIN_FILENO);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  std::vector<char*> args;
  for (auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  ::execv(args[0], args.data());
  std::fprintf(stderr, "cannot start %s: %s\n", args[0], std::strerror(errno));
  std::_Exit(127);
}

bool alive(pid_t pid) {
  int status = 0;
  auto r = ::waitpid(pid, &status, WNOHANG); // reaps our own children
  if (r == pid)
    return false;
  return ::kill(pid, 0) == 0;
}

bool stop_all(const std::vector<node_proc>& procs, std::chrono::seconds grace) {
  for (auto& p : procs)
    if (p.pid > 0)
      ::kill(p.pid, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + grace;
  bool all = false;
  while (!all && std::chrono::steady_clock::now() < deadline) {
    all = true;
    for (auto& p : procs)
      all = all && (p.pid <= 0 || !alive(p.pid));
    if (!all)
      std::this_thread::sleep_for(50ms);
  }
  if (!all)
    for (auto& p : procs)
      if (p.pid > 0 && alive(p.pid)) {
        std::cerr << "cafmcp cluster: " << p.name << " (pid " << p.pid << ") did not stop in time; killing it\n";
        ::kill(p.pid, SIGKILL);
      }
  return all;
}

} // namespace cafmcp::cli
