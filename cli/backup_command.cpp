// `cafmcp backup …`: encrypted backups of the cluster's MCP state, their checks and restores.
#include "cli/backup_command.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <thread>

#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <nlohmann/json.hpp>

#include "base/crypto.hpp"
#include "cli/node_process.hpp"
#include "cluster/backup_job.hpp"
#include "cluster/client.hpp"
#include "cluster/messages.hpp"

namespace cafmcp::cli {

namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using clock = std::chrono::steady_clock;

constexpr milliseconds connect_timeout{10000};

/// A bad argument or key source: exit code 2.
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string prompt(const std::string& what) {
  std::cerr << what << std::flush;
  termios old{};
  bool tty = ::tcgetattr(STDIN_FILENO, &old) == 0;
  if (tty) {
    auto quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string line;
  std::getline(std::cin, line);
  if (tty)
    ::tcsetattr(STDIN_FILENO, TCSANOW, &old);
  std::cerr << '\n';
  return line;
}

/// The key's source: a key file, a passphrase file, CAFMCP_BACKUP_PASSPHRASE
/// or (on a terminal) a prompt; never the command line.
cluster::backup_secret secret_of(const backup_options& o, bool confirm) {
  cluster::backup_secret s;
  if (!o.key_file.empty() && !o.passphrase_file.empty())
    throw usage_error("give --key-file or --passphrase-file, not both");
  if (!o.key_file.empty()) {
    s.key_file = o.key_file;
    return s;
  }
  if (!o.passphrase_file.empty()) {
    s.passphrase = cluster::read_passphrase_file(o.passphrase_file);
    s.has_passphrase = true;
  } else if (auto* env = std::getenv("CAFMCP_BACKUP_PASSPHRASE"); env && *env) {
    s.passphrase = env;
    s.has_passphrase = true;
  } else if (::isatty(STDIN_FILENO)) {
    s.passphrase = prompt("backup passphrase: ");
    if (confirm && prompt("again: ") != s.passphrase)
      throw usage_error("the passphrases differ");
    s.has_passphrase = true;
  } else {
    throw usage_error("no key: give --key-file FILE or --passphrase-file FILE (or set CAFMCP_BACKUP_PASSPHRASE)");
  }
  return s;
}

/// "812 B", "23.4 kB", "5.1 MB" (decimal units).
std::string byte_size(uint64_t bytes) {
  std::ostringstream o;
  if (bytes < 1000)
    return std::to_string(bytes) + " B";
  o << std::fixed << std::setprecision(1);
  if (bytes < 1000 * 1000)
    o << static_cast<double>(bytes) / 1e3 << " kB";
  else
    o << static_cast<double>(bytes) / 1e6 << " MB";
  return o.str();
}

/// Progress on stderr: a bar redrawn in place on a terminal, else a plain
/// line every second.
class progress_printer {
public:
  explicit progress_printer(std::string verb) : verb_(std::move(verb)), tty_(::isatty(STDERR_FILENO)) {}

  void operator()(const cluster::backup_progress& p) {
    auto now = clock::now();
    if (now - last_ < (tty_ ? milliseconds{100} : milliseconds{1000}) && p.done != p.total)
      return;
    last_ = now;
    double secs = std::max(0.001, static_cast<double>(p.elapsed.count()) / 1000.0);
    auto rate = static_cast<double>(p.done) / secs;
    std::ostringstream line;
    line << verb_ << " " << p.phase << ": " << p.done << "/" << p.total << " records, " << byte_size(p.bytes) << ", "
         << static_cast<uint64_t>(rate) << " records/s";
    if (rate > 0 && p.total > p.done)
      line << ", ETA " << static_cast<uint64_t>(static_cast<double>(p.total - p.done) / rate + 0.5) << " s";
    if (p.phase == "cut")
      line.str(verb_ + ": every member keeps its records as of the cut; listing them");
    if (tty_) {
      constexpr int width = 30;
      int filled = p.total == 0 ? 0 : static_cast<int>(width * static_cast<double>(p.done) / static_cast<double>(p.total));
      std::cerr << "\r[" << std::string(static_cast<size_t>(filled), '#')
                << std::string(static_cast<size_t>(width - filled), '.') << "] " << line.str() << "\x1b[K" << std::flush;
      drawn_ = true;
    } else {
      std::cerr << line.str() << '\n';
    }
  }

  ~progress_printer() {
    if (drawn_)
      std::cerr << '\n';
  }

private:
  std::string verb_;
  bool tty_;
  bool drawn_ = false;
  clock::time_point last_{};
};

/// An actor system attached to a node: the calls' context. Never destroyed:
/// the command leaves with _Exit (see guarded), since the middleman may
/// still be busy with a connection and its destructor would wait for it.
struct attached {
  caf::actor_system_config* cfg = nullptr;
  caf::actor_system* sys = nullptr;
  caf::actor node;
};

/// Throws usage_error (bad options) or backup_error (no node).
attached attach_to(const connection_options& opts, bool insecure_override = false) {
  connection_settings conn;
  try {
    auto o = opts;
    o.insecure = o.insecure || insecure_override;
    conn = resolve_connection(o);
  } catch (const std::exception& e) {
    throw usage_error(e.what());
  }
  attached a;
  a.cfg = new caf::actor_system_config;
  cluster::register_types(*a.cfg);
  cluster::configure_transport(*a.cfg, conn.tls);
  a.sys = new caf::actor_system{*a.cfg};
  auto node = cluster::attach(*a.sys, conn.host, conn.port, conn.cookie, connect_timeout, conn.creds);
  if (!node)
    throw cluster::backup_error("cannot reach " + opts.node + ": " + a.sys->render(node.error()));
  a.node = *node;
  return a;
}

std::string stamp_text(const cluster::hlc_stamp& s) {
  std::time_t t = static_cast<std::time_t>(s.wall_ms / 1000);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return std::string{buf} + "." + [&] {
    auto ms = std::to_string(s.wall_ms % 1000);
    return std::string(3 - ms.size(), '0') + ms;
  }() + "Z";
}

json summary_json(const cluster::backup_summary& s) {
  return json{{"records", s.records}, {"chunks", s.chunks}, {"plain_bytes", s.plain_bytes},
              {"file_bytes", s.file_bytes}, {"digest", s.digest}};
}

json header_json(const cluster::backup_header& h) {
  return json{{"version", h.version},   {"cluster", h.cluster},   {"cut", stamp_text(h.cut)},
              {"cut_ms", h.cut.wall_ms}, {"records", h.records}, {"key_id", h.key_id},
              {"key", h.kdf.kind},       {"taken_by", h.taken_by}};
}

double per_second(uint64_t n, milliseconds took) {
  return static_cast<double>(n) * 1000.0 / static_cast<double>(std::max<int64_t>(1, took.count()));
}

/// Runs `body`, mapping failures to exit codes with the message on stderr
/// (the middleman may linger: leave at once, as `status` does).
template <class F>
int guarded(const std::string& what, F body) {
  int rc = 0;
  try {
    rc = body();
  } catch (const usage_error& e) {
    std::cerr << "cafmcp backup " << what << ": " << e.what() << '\n';
    rc = 2;
  } catch (const std::exception& e) {
    std::cerr << "cafmcp backup " << what << ": " << e.what() << '\n';
    rc = 1;
  }
  std::fflush(nullptr);
  std::_Exit(rc);
}

/// A scratch node for test-restore: one member on a free port, insecure on
/// loopback, nothing expiring; stopped and removed with this object.
class scratch_node {
public:
  scratch_node() {
    char tmpl[] = "/tmp/cafmcp-test-restore-XXXXXX";
    if (!::mkdtemp(tmpl))
      throw cluster::backup_error("cannot make a scratch directory in /tmp");
    dir_ = tmpl;
    cookie_ = dir_ + "/cookie";
    {
      std::ofstream c{cookie_};
      c << crypto::to_hex(crypto::random_bytes(32)) << '\n';
    }
    ::chmod(cookie_.c_str(), 0600);
    std::ofstream cfg{dir_ + "/config.json"};
    cfg << json{{"cluster", {{"replication", {{"sweep", false}, {"factor", 1}}}}},
                {"observability", {{"enabled", false}}}}
             .dump();
    cfg.close();
    port_ = pick_free_port();
    if (port_ == 0)
      throw cluster::backup_error("no free port on 127.0.0.1 for the scratch node");
    proc_.name = "restore-check";
    proc_.cluster_port = port_;
    proc_.pid = spawn_node({self_exe(), "node", "--name", "restore-check", "--config", dir_ + "/config.json",
                            "--cluster-port", std::to_string(port_), "--insecure", "--cookie-file", cookie_,
                            "--data-dir", dir_ + "/data", "--http-port", "0", "--audit-log", dir_ + "/audit.jsonl"},
                           dir_ + "/node.log");
  }

  ~scratch_node() {
    if (proc_.pid > 0)
      stop_all({proc_}, std::chrono::seconds{10});
    std::string cmd = "rm -rf '" + dir_ + "'";
    if (std::system(cmd.c_str()) != 0)
      std::cerr << "could not remove " << dir_ << '\n';
  }

  /// Attached once it answers (bounded).
  attached attach() {
    connection_options o;
    o.node = "127.0.0.1:" + std::to_string(port_);
    o.cookie_file = cookie_;
    o.insecure = true;
    auto deadline = clock::now() + std::chrono::seconds{30};
    for (;;) {
      if (!alive(proc_.pid))
        throw cluster::backup_error("the scratch node stopped; its log: " + dir_ + "/node.log");
      if (port_free(port_)) { // not listening yet
        if (clock::now() > deadline)
          throw cluster::backup_error("the scratch node did not start within 30 s");
        std::this_thread::sleep_for(milliseconds{100});
        continue;
      }
      return attach_to(o);
    }
  }

  std::string dir() const { return dir_; }

private:
  std::string dir_, cookie_;
  int port_ = 0;
  node_proc proc_;
};

/// The path as the audit log should show it (absolute).
std::string absolute(const std::string& path) {
  if (!path.empty() && path[0] == '/')
    return path;
  char buf[4096];
  return ::getcwd(buf, sizeof buf) ? std::string{buf} + "/" + path : path;
}

} // namespace

int run_backup_keygen(const backup_options& opts) {
  return guarded("keygen", [&] {
    cluster::write_key_file(opts.file);
    std::cout << "wrote a new backup key to " << opts.file << " (mode 0600); keep a copy away from the cluster\n";
    return 0;
  });
}

int run_backup_create(const backup_options& opts) {
  return guarded("create", [&] {
    auto key = cluster::make_backup_key(secret_of(opts, true)); // before the cluster is asked anything
    auto a = attach_to(opts.connection);
    progress_printer progress{"backup"};
    cluster::backup_options b;
    b.out = absolute(opts.file);
    b.key = key;
    b.taken_by = opts.connection.user;
    b.progress = [&](const cluster::backup_progress& p) { progress(p); };
    auto r = cluster::run_backup(*a.sys, a.node, b);
    auto secs = static_cast<double>(r.took.count()) / 1000.0;
    if (opts.json) {
      json parts = json::array();
      for (auto& p : r.parts)
        parts.push_back({{"member", p.member}, {"records", p.records}, {"kept_for_cut", p.kept}});
      std::cout << json{{"file", opts.file},        {"cut", stamp_text(r.cut)}, {"cut_ms", r.cut.wall_ms},
                        {"summary", summary_json(r.summary)}, {"members", parts}, {"seconds", secs}}
                     .dump(2)
                << '\n';
    } else {
      std::cout << "backup " << opts.file << ": " << r.summary.records << " records as of " << stamp_text(r.cut)
                << " from ";
      for (size_t i = 0; i < r.parts.size(); ++i)
        std::cout << (i ? ", " : "") << r.parts[i].member << " (" << r.parts[i].records << ")";
      std::cout << "\n  " << r.summary.chunks << (r.summary.chunks == 1 ? " chunk, " : " chunks, ") << byte_size(r.summary.file_bytes) << " ("
                << byte_size(r.summary.plain_bytes) << " before compression), " << std::fixed << std::setprecision(1)
                << secs << " s, " << static_cast<uint64_t>(per_second(r.summary.records, r.took)) << " records/s\n"
                << "  digest " << r.summary.digest << '\n';
    }
    return 0;
  });
}

int run_backup_verify(const backup_options& opts) {
  return guarded("verify", [&] {
    cluster::backup_reader peek{opts.file}; // the header names the key's kind before we ask for it
    auto secret = secret_of(opts, false);
    auto s = cluster::verify_backup(opts.file, secret);
    if (opts.json) {
      std::cout << json{{"file", opts.file}, {"ok", true}, {"header", header_json(peek.header())},
                        {"summary", summary_json(s)}}
                     .dump(2)
                << '\n';
    } else {
      std::cout << opts.file << ": OK, " << s.records << " records in " << s.chunks
                << (s.chunks == 1 ? " chunk" : " chunks") << ", every tag and hash checked\n  cut " << stamp_text(peek.header().cut) << " across "
                << peek.header().cluster << ", key " << peek.header().key_id << " (" << peek.header().kdf.kind
                << ")\n  digest " << s.digest << '\n';
    }
    return 0;
  });
}

int run_backup_restore(const backup_options& opts) {
  return guarded("restore", [&] {
    auto secret = secret_of(opts, false);
    auto a = attach_to(opts.connection);
    progress_printer progress{"restore"};
    cluster::restore_options r;
    r.file = absolute(opts.file);
    r.secret = secret;
    r.overwrite = opts.overwrite;
    r.by = opts.connection.user;
    r.progress = [&](const cluster::backup_progress& p) { progress(p); };
    auto out = cluster::run_restore(*a.sys, a.node, r);
    auto secs = static_cast<double>(out.took.count()) / 1000.0;
    if (opts.json) {
      std::cout << json{{"file", opts.file},          {"restored", out.restored}, {"header", header_json(out.header)},
                        {"summary", summary_json(out.summary)}, {"overwrite", opts.overwrite}, {"seconds", secs}}
                     .dump(2)
                << '\n';
    } else {
      std::cout << "restored " << out.restored << " records from " << opts.file << " (cut "
                << stamp_text(out.header.cut) << ") in " << std::fixed << std::setprecision(1) << secs << " s, "
                << static_cast<uint64_t>(per_second(out.restored, out.took)) << " records/s"
                << (opts.overwrite ? "; the backup's values replaced newer ones"
                                   : "; records written in the cluster since the cut kept their newer values")
                << '\n';
    }
    return 0;
  });
}

int run_backup_test_restore(const backup_options& opts) {
  return guarded("test-restore", [&] {
    auto secret = secret_of(opts, false);
    scratch_node scratch;
    auto a = scratch.attach();
    progress_printer progress{"test-restore"};
    cluster::restore_options r;
    r.file = opts.file;
    r.secret = secret;
    r.by = "test-restore";
    r.progress = [&](const cluster::backup_progress& p) { progress(p); };
    auto restored = cluster::run_restore(*a.sys, a.node, r);
    // Read back through a backup of the scratch node: counts and digests.
    cluster::backup_options b;
    b.out = scratch.dir() + "/readback.bak";
    b.key = cluster::make_backup_key(secret);
    b.taken_by = "test-restore";
    auto back = cluster::run_backup(*a.sys, a.node, b);
    bool same = back.summary.records == restored.summary.records && back.summary.digest == restored.summary.digest;
    if (opts.json) {
      std::cout << json{{"file", opts.file},
                        {"ok", same},
                        {"header", header_json(restored.header)},
                        {"file_records", restored.summary.records},
                        {"restored", restored.restored},
                        {"read_back", back.summary.records},
                        {"file_digest", restored.summary.digest},
                        {"read_back_digest", back.summary.digest},
                        {"restore_seconds", static_cast<double>(restored.took.count()) / 1000.0}}
                     .dump(2)
                << '\n';
    } else {
      std::cout << "test-restore of " << opts.file << " into a scratch node:\n"
                << "  cut          " << stamp_text(restored.header.cut) << " across " << restored.header.cluster << '\n'
                << "  records      " << restored.summary.records << " in the file, " << restored.restored
                << " restored, " << back.summary.records << " read back\n"
                << "  digest       " << restored.summary.digest << " (file)\n"
                << "               " << back.summary.digest << " (read back)\n"
                << "  restore      " << std::fixed << std::setprecision(1)
                << static_cast<double>(restored.took.count()) / 1000.0 << " s, "
                << static_cast<uint64_t>(per_second(restored.restored, restored.took)) << " records/s\n"
                << (same ? "test-restore: OK, every record came back as it was\n"
                         : "test-restore: MISMATCH, the records read back differ from the file's\n");
    }
    return same ? 0 : 1;
  });
}

} // namespace cafmcp::cli
