// The audit log: a JSON line per record, HMAC-chained under the audit key, on disk before it is answered.
#include "base/audit_log.hpp"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <deque>
#include <fstream>
#include <memory>
#include <optional>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
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

/// The member every line ends with: `,"mac":"<64 hex digits>"}`.
const std::string mac_member = ",\"mac\":\"";
constexpr size_t mac_hex_size = 64;

std::string mac_of(const std::string& key, const std::string& body) {
  return crypto::to_hex(crypto::hmac_sha256(key, body));
}

/// A line cut into the JSON object it holds without its mac member (the
/// bytes the mac covers), and the mac; nullopt when it does not end with one.
std::optional<std::pair<std::string, std::string>> split_mac(const std::string& line) {
  auto suffix = mac_member.size() + mac_hex_size + 2; // ,"mac":" hex "}
  if (line.size() <= suffix || line.compare(line.size() - 2, 2, "\"}") != 0)
    return std::nullopt;
  auto at = line.size() - suffix;
  if (line.compare(at, mac_member.size(), mac_member) != 0)
    return std::nullopt;
  return std::pair{line.substr(0, at) + "}", line.substr(at + mac_member.size(), mac_hex_size)};
}

/// The line for `r` and its mac.
std::pair<std::string, std::string> make_line(const audit_record& r, int64_t unix_ms, const std::string& prev,
                                              const std::string& key) {
  nlohmann::json j{{"time", iso8601(unix_ms)}, {"who", r.who},         {"op", r.op},
                   {"target", r.target},       {"result", r.result}, {"prev", prev}};
  auto body = j.dump();
  auto mac = mac_of(key, body);
  body.pop_back(); // the closing brace, after which the mac goes
  return {body + mac_member + mac + "\"}", mac};
}

struct writer_state {
  std::string path;
  std::string key;
  std::string prev; // the mac of the last line written
  bool torn = false; // a short write left a partial line: the next record starts on a new line
};

/// Appends one record durably: open, write, fdatasync, close, every record
/// (audit volume is low; a fresh open notices a log replaced or made
/// unwritable). An error names the file, the step and errno's text.
caf::error append(writer_state& w, const audit_record& r) {
  auto fail = [&](const char* step, int err) {
    auto why = "the audit log " + w.path + " cannot be written: " + step + ": " + std::strerror(err);
    log::error("/audit", why);
    return caf::make_error(caf::sec::runtime_error, std::move(why));
  };
  int fd = ::open(w.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return fail("open", errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    auto err = errno;
    ::close(fd);
    return fail("fstat", err);
  }
  if (st.st_size == 0) { // a new file (the old one rotated away) starts a new chain
    w.prev = audit_genesis;
    w.torn = false;
  }
  auto [text, mac] = make_line(r, now_ms(), w.prev, w.key);
  auto line = (w.torn ? "\n" : "") + text + "\n";
  // One write per record with O_APPEND: records never interleave.
  auto n = ::write(fd, line.data(), line.size());
  if (n != static_cast<ssize_t>(line.size())) {
    auto err = n < 0 ? errno : ENOSPC; // a short write on a regular file: the disk is full
    w.torn = w.torn || n > 0;
    ::close(fd);
    return fail("write", err);
  }
  w.torn = false;
  w.prev = mac; // the line is in the file now, even if it is not yet durable
  if (::fdatasync(fd) != 0) {
    auto err = errno;
    ::close(fd);
    return fail("fdatasync", err);
  }
  if (::close(fd) != 0)
    return fail("close", errno);
  return caf::none;
}

} // namespace

const std::string audit_genesis(64, '0');

std::string audit_line(const audit_record& r, int64_t unix_ms, const std::string& prev, const std::string& key) {
  return make_line(r, unix_ms, prev, key).first;
}

audit_verdict verify_audit_log(std::istream& in, const std::string& key) {
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
    for (auto field : {"time", "who", "op", "target", "result", "prev", "mac"})
      if (!j.contains(field) || !j[field].is_string())
        return fail(std::string{"no \""} + field + "\" field");
    auto parts = split_mac(line);
    if (!parts)
      return fail("its \"mac\" is not 64 hex digits at the end of the line");
    if (!crypto::constant_time_equal(mac_of(key, parts->first), parts->second))
      return fail("its mac does not match its content under this key (the line was changed, or another key wrote it)");
    if (j["prev"] != prev)
      return fail("its prev is " + j["prev"].get<std::string>() + ", but "
                  + (v.records == 1 ? "a log's first record has " + audit_genesis
                                    : "the line before has mac " + prev));
    prev = parts->second;
  }
  return v;
}

caf::expected<caf::actor> spawn_audit_log(caf::actor_system& sys, const std::string& path, const std::string& key) {
  if (key.empty())
    return caf::make_error(caf::sec::runtime_error, "no audit key for the audit log " + path);
  int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return caf::make_error(caf::sec::runtime_error,
                           "cannot open the audit log " + path + ": " + std::strerror(errno));
  auto last = last_line(fd);
  ::close(fd);
  auto w = std::make_shared<writer_state>();
  w->path = path;
  w->key = key;
  // A last line without a mac (torn, or from before the keyed chain) cannot
  // be continued: verify names it, and the next record starts from genesis.
  auto parts = split_mac(last);
  w->prev = parts ? parts->second : audit_genesis;
  // (An argument besides self: argument-less function actors trip UBSan.)
  return sys.spawn<caf::detached>(
    [w](caf::event_based_actor*, std::string path) -> caf::behavior {
      return {
        [w](audit_record_atom, const audit_record& r) -> caf::result<void> {
          if (auto err = append(*w, r))
            return err;
          return caf::unit;
        },
        [path](audit_tail_atom, uint32_t n) { return tail(path, n); },
      };
    },
    path);
}

} // namespace cafmcp::audit
