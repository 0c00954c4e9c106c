// The audit log: a hash-chained JSON line per record, synced as it is written.
#include "base/audit_log.hpp"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <deque>
#include <fstream>
#include <memory>

#include <fcntl.h>
#include <unistd.h>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "base/crypto.hpp"
#include "base/log.hpp"

namespace cafmcp::audit {

namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

std::string iso8601(int64_t unix_ms) {
  std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(unix_ms % 1000));
  return out;
}

struct file {
  int fd = -1;
  ~file() {
    if (fd >= 0)
      ::close(fd);
  }
};

/// The last `n` lines of `path` (the file is small next to a node's life,
/// and read only on an operator's request).
std::vector<std::string> tail(const std::string& path, uint32_t n) {
  std::ifstream in{path};
  std::deque<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    lines.push_back(std::move(line));
    if (lines.size() > n)
      lines.pop_front();
  }
  return {lines.begin(), lines.end()};
}

/// The last line of the log at `fd` (without its newline), or "" for an
/// empty file. A torn last line (a crash mid-write) is ended with a newline
/// first, so the next record starts on a line of its own.
std::string last_line(int fd) {
  auto size = ::lseek(fd, 0, SEEK_END);
  if (size <= 0)
    return {};
  // Records are short: the last 64 KiB hold the last line; else read it all.
  for (off_t window : {off_t{65536}, size}) {
    auto from = std::max<off_t>(0, size - window);
    std::string buf(static_cast<size_t>(size - from), '\0');
    if (::pread(fd, buf.data(), buf.size(), from) != static_cast<ssize_t>(buf.size()))
      return {};
    if (buf.back() != '\n') {
      [[maybe_unused]] auto n = ::write(fd, "\n", 1);
      buf += '\n';
    }
    auto end = buf.size() - 1;
    auto start = buf.rfind('\n', end - 1);
    if (start != std::string::npos)
      return buf.substr(start + 1, end - start - 1);
    if (from == 0)
      return buf.substr(0, end);
  }
  return {};
}

} // namespace

const std::string audit_genesis(64, '0');

std::string audit_line(const audit_record& r, int64_t unix_ms, const std::string& prev) {
  nlohmann::json j{{"time", iso8601(unix_ms)}, {"who", r.who},         {"op", r.op},
                   {"target", r.target},       {"result", r.result}, {"prev", prev}};
  return j.dump();
}

audit_verdict verify_audit_log(std::istream& in) {
  audit_verdict v;
  auto prev = audit_genesis;
  std::string line;
  while (std::getline(in, line)) {
    v.records += 1;
    auto fail = [&](std::string why) {
      v.broken_line = v.records;
      v.why = std::move(why);
      return v;
    };
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object())
      return fail("not a JSON object");
    for (auto key : {"time", "who", "op", "target", "result", "prev"})
      if (!j.contains(key) || !j[key].is_string())
        return fail(std::string{"no \""} + key + "\" field");
    if (j["prev"] != prev)
      return fail("its prev is " + j["prev"].get<std::string>() + ", but the line before hashes to " + prev
                  + (v.records == 1 ? " (the first record)" : ""));
    prev = crypto::sha256_hex(line);
  }
  return v;
}

caf::expected<caf::actor> spawn_audit_log(caf::actor_system& sys, const std::string& path) {
  auto f = std::make_shared<file>();
  f->fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (f->fd < 0)
    return caf::make_error(caf::sec::runtime_error,
                           "cannot open the audit log " + path + ": " + std::strerror(errno));
  // (An argument besides self: argument-less function actors trip UBSan.)
  auto last = last_line(f->fd);
  auto prev = std::make_shared<std::string>(last.empty() ? audit_genesis : crypto::sha256_hex(last));
  return sys.spawn<caf::detached>(
    [f, prev](caf::event_based_actor*, std::string path) -> caf::behavior {
      return {
        [f, prev, path](audit_record_atom, const audit_record& r) -> caf::result<void> {
          auto text = audit_line(r, now_ms(), *prev);
          auto line = text + "\n";
          // One write per record with O_APPEND: records never interleave.
          auto n = ::write(f->fd, line.data(), line.size());
          if (n != static_cast<ssize_t>(line.size())) {
            auto why = std::string{"cannot write the audit log "} + path + ": "
                       + (n < 0 ? std::strerror(errno) : "short write");
            log::error("/audit", why);
            return caf::make_error(caf::sec::runtime_error, why);
          }
          ::fdatasync(f->fd);
          *prev = crypto::sha256_hex(text);
          return caf::unit;
        },
        [path](audit_tail_atom, uint32_t n) { return tail(path, n); },
      };
    },
    path);
}

} // namespace cafmcp::audit
