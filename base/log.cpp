// The process-wide log sink: one line per event, text or JSON, naming node and actor path.
#include "base/log.hpp"

#include <cerrno>
#include <cstring>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace cafmcp::log {

namespace {

struct sink {
  std::mutex mtx;
  std::atomic<int> min_level{static_cast<int>(level::info)};
  format fmt = format::text;
  std::string node;
  std::FILE* out = stderr; // or the log file (kept open for the process's life)
};

sink& the_sink() {
  static sink s;
  return s;
}

void append_timestamp(std::string& out) {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto secs = system_clock::to_time_t(now);
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  out += buf;
}

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

} // namespace

bool parse_level(std::string_view name, level& out) {
  if (name == "debug") out = level::debug;
  else if (name == "info") out = level::info;
  else if (name == "warning") out = level::warning;
  else if (name == "error") out = level::error;
  else return false;
  return true;
}

bool parse_format(std::string_view name, format& out) {
  if (name == "text") out = format::text;
  else if (name == "json") out = format::json;
  else return false;
  return true;
}

std::string_view to_string(level x) {
  switch (x) {
    case level::debug: return "debug";
    case level::info: return "info";
    case level::warning: return "warning";
    case level::error: return "error";
  }
  return "info";
}

void configure(level min, format fmt, std::string node_name) {
  auto& s = the_sink();
  std::lock_guard<std::mutex> guard{s.mtx};
  s.min_level = static_cast<int>(min);
  s.fmt = fmt;
  s.node = std::move(node_name);
}

namespace {
thread_local correlation_scope::tags request;
} // namespace

correlation_scope::correlation_scope(std::string id, std::string subject, std::string tenant)
  : previous_(std::move(request)) {
  request = tags{std::move(id), std::move(subject), std::move(tenant)};
}

correlation_scope::~correlation_scope() {
  request = std::move(previous_);
}

const std::string& current_correlation() {
  return request.correlation;
}

bool enabled(level x) {
  return static_cast<int>(x) >= the_sink().min_level.load(std::memory_order_relaxed);
}

void write(level x, std::string_view path, std::string_view message) {
  if (!enabled(x))
    return;
  auto& s = the_sink();
  std::string line;
  line.reserve(96 + message.size());
  std::lock_guard<std::mutex> guard{s.mtx};
  if (s.fmt == format::json) {
    line += "{\"ts\":\"";
    append_timestamp(line);
    line += "\",\"level\":\"";
    line += to_string(x);
    line += "\",\"node\":";
    append_json_string(line, s.node);
    line += ",\"path\":";
    append_json_string(line, path);
    line += ",\"msg\":";
    append_json_string(line, message);
    for (auto [key, value] : {std::pair{",\"correlation_id\":", &request.correlation},
                              std::pair{",\"subject\":", &request.subject}, std::pair{",\"tenant\":", &request.tenant}})
      if (!value->empty()) {
        line += key;
        append_json_string(line, *value);
      }
    line += "}\n";
  } else {
    append_timestamp(line);
    line += ' ';
    auto lvl = to_string(x);
    line += lvl;
    line.append(8 - lvl.size(), ' ');
    if (!s.node.empty()) {
      line += s.node;
      line += ' ';
    }
    line += path;
    line += ": ";
    line += message;
    for (auto [key, value] : {std::pair{" [correlation_id ", &request.correlation},
                              std::pair{" [subject ", &request.subject}, std::pair{" [tenant ", &request.tenant}})
      if (!value->empty()) {
        line += key;
        line += *value;
        line += ']';
      }
    line += '\n';
  }
  std::fwrite(line.data(), 1, line.size(), s.out);
  std::fflush(s.out);
}

std::string write_to_file(const std::string& path) {
  auto* f = std::fopen(path.c_str(), "a");
  if (!f)
    return std::strerror(errno);
  auto& s = the_sink();
  std::lock_guard<std::mutex> guard{s.mtx};
  if (s.out != stderr)
    std::fclose(s.out);
  s.out = f;
  return {};
}

} // namespace cafmcp::log
