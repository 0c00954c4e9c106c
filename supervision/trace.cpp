#include "supervision/trace.hpp"

#include <cctype>
#include <chrono>
#include <cmath>
#include <deque>
#include <mutex>
#include <random>

namespace cafmcp::trace {

namespace {

bool is_lower_hex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
  return true;
}

bool all_zero(std::string_view s) {
  return s.find_first_not_of('0') == std::string_view::npos;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

/// Splits on `sep` (empty pieces kept).
std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    auto at = s.find(sep, start);
    out.push_back(s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos)
      return out;
    start = at + 1;
  }
}

std::string random_hex(size_t bytes) {
  thread_local std::mt19937_64 gen{std::random_device{}() ^ static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count())};
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes * 2);
  for (;;) {
    out.clear();
    for (size_t i = 0; i < bytes; i += 8) {
      auto v = gen();
      for (size_t k = 0; k < 8 && i + k < bytes; ++k, v >>= 8) {
        out += digits[(v >> 4) & 0xf];
        out += digits[v & 0xf];
      }
    }
    if (!all_zero(out))
      return out;
  }
}

uint64_t unix_ns() {
  return static_cast<uint64_t>(
    std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

/// The process's tracer: its switch, sampling and queue.
struct tracer {
  std::atomic<bool> on{false};
  std::atomic<uint64_t> threshold{0}; // a trace is sampled when its low 64 bits are below this
  std::atomic<bool> sample_all{false};
  std::mutex mtx;
  std::deque<span_record> queue;
  size_t limit = 4096;
  std::atomic<uint64_t> queued{0}, dropped{0};
};

tracer& the_tracer() {
  static tracer* t = new tracer; // never destroyed: spans may end during static destruction
  return *t;
}

thread_local context current_context;

bool sampled_by_ratio(const std::string& trace_id) {
  auto& t = the_tracer();
  if (t.sample_all.load(std::memory_order_relaxed))
    return true;
  auto low = std::stoull(trace_id.substr(16), nullptr, 16);
  return low < t.threshold.load(std::memory_order_relaxed);
}

} // namespace

std::optional<context> parse_traceparent(std::string_view h, std::string* why) {
  auto fail = [&](const char* reason) -> std::optional<context> {
    if (why)
      *why = reason;
    return std::nullopt;
  };
  h = trim(h);
  if (h.size() < 55)
    return fail("a traceparent is 55 characters: 00-<32 hex>-<16 hex>-<2 hex>");
  auto version = h.substr(0, 2);
  if (!is_lower_hex(version))
    return fail("the traceparent version is not 2 lowercase hex digits");
  if (version == "ff")
    return fail("traceparent version ff is invalid");
  if (version == "00" && h.size() != 55)
    return fail("a version-00 traceparent is exactly 55 characters");
  if (h.size() > 55 && h[55] != '-')
    return fail("a later traceparent version continues with '-' after the flags");
  if (h[2] != '-' || h[35] != '-' || h[52] != '-')
    return fail("the traceparent fields are separated by '-'");
  context c;
  c.trace_id = std::string{h.substr(3, 32)};
  c.span_id = std::string{h.substr(36, 16)};
  auto flags = h.substr(53, 2);
  if (!is_lower_hex(c.trace_id) || !is_lower_hex(c.span_id) || !is_lower_hex(flags))
    return fail("traceparent ids and flags are lowercase hex");
  if (all_zero(c.trace_id))
    return fail("an all-zero trace id is invalid");
  if (all_zero(c.span_id))
    return fail("an all-zero parent id is invalid");
  c.flags = static_cast<uint8_t>(std::stoul(std::string{flags}, nullptr, 16));
  return c;
}

bool valid_tracestate(std::string_view h) {
  if (h.size() > 8192)
    return false;
  size_t members = 0;
  for (auto piece : split(h, ',')) {
    piece = trim(piece);
    if (piece.empty())
      continue; // empty list members are allowed
    if (++members > 32)
      return false;
    auto eq = piece.find('=');
    if (eq == std::string_view::npos || eq == 0)
      return false;
    auto key = piece.substr(0, eq), value = piece.substr(eq + 1);
    // key: lcalpha / digit first (multi-tenant: tenant@system), then
    // lcalpha, digits, _ - * /, at most 256 characters.
    if (key.size() > 256)
      return false;
    auto at = key.find('@');
    for (size_t i = 0; i < key.size(); ++i) {
      char c = key[i];
      bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '*' || c == '/'
                || (c == '@' && i == at && i > 0 && i + 1 < key.size());
      if (!ok)
        return false;
    }
    if (!(key[0] >= 'a' && key[0] <= 'z') && !(key[0] >= '0' && key[0] <= '9'))
      return false;
    // value: 1 … 256 printable characters but ',' and '=', not ending in a space.
    if (value.empty() || value.size() > 256 || value.back() == ' ')
      return false;
    for (char c : value)
      if (c < 0x20 || c > 0x7e || c == ',' || c == '=')
        return false;
  }
  return true;
}

namespace {

bool is_token_char(char c) {
  // RFC 7230 tchar
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
         || std::string_view{"!#$%&'*+-.^_`|~"}.find(c) != std::string_view::npos;
}

bool is_baggage_octet(char c) {
  auto u = static_cast<unsigned char>(c);
  return u == 0x21 || (u >= 0x23 && u <= 0x2b) || (u >= 0x2d && u <= 0x3a) || (u >= 0x3c && u <= 0x5b)
         || (u >= 0x5d && u <= 0x7e);
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      auto hex = std::string{s.substr(i + 1, 2)};
      if (hex.size() == 2 && std::isxdigit(static_cast<unsigned char>(hex[0]))
          && std::isxdigit(static_cast<unsigned char>(hex[1]))) {
        out += static_cast<char>(std::stoi(hex, nullptr, 16));
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

} // namespace

bool valid_baggage(std::string_view h) {
  if (h.size() > 8192)
    return false;
  size_t members = 0;
  for (auto piece : split(h, ',')) {
    if (++members > 180)
      return false;
    auto props = split(piece, ';');
    auto kv = trim(props[0]);
    auto eq = kv.find('=');
    if (eq == std::string_view::npos)
      return false;
    auto key = trim(kv.substr(0, eq)), value = trim(kv.substr(eq + 1));
    if (key.empty())
      return false;
    for (char c : key)
      if (!is_token_char(c))
        return false;
    for (char c : value)
      if (!is_baggage_octet(c))
        return false;
  }
  return true;
}

std::vector<std::pair<std::string, std::string>> baggage_entries(std::string_view h) {
  std::vector<std::pair<std::string, std::string>> out;
  if (h.empty() || !valid_baggage(h))
    return out;
  for (auto piece : split(h, ',')) {
    auto kv = trim(split(piece, ';')[0]);
    auto eq = kv.find('=');
    out.emplace_back(std::string{trim(kv.substr(0, eq))}, percent_decode(trim(kv.substr(eq + 1))));
  }
  return out;
}

std::string traceparent(const context& c) {
  static const char* digits = "0123456789abcdef";
  std::string out = "00-" + c.trace_id + "-" + c.span_id + "-";
  out += digits[(c.flags >> 4) & 0xf];
  out += digits[c.flags & 0xf];
  return out;
}

std::string new_trace_id() {
  return random_hex(16);
}

std::string new_span_id() {
  return random_hex(8);
}

void configure(const tracer_config& cfg) {
  auto& t = the_tracer();
  {
    std::lock_guard<std::mutex> guard{t.mtx};
    t.limit = cfg.queue_limit;
    if (!cfg.enabled)
      t.queue.clear();
  }
  auto ratio = std::min(1.0, std::max(0.0, cfg.sample_ratio));
  t.sample_all = ratio >= 1.0;
  t.threshold = ratio >= 1.0 ? UINT64_MAX : static_cast<uint64_t>(std::ldexp(ratio, 64));
  t.on.store(cfg.enabled, std::memory_order_release);
}

bool enabled() {
  return the_tracer().on.load(std::memory_order_relaxed);
}

span& span::operator=(span&& other) noexcept {
  if (this != &other) {
    end();
    rec_ = std::move(other.rec_);
    ctx_ = std::move(other.ctx_);
  }
  return *this;
}

void span::set(std::string key, std::string value) {
  if (rec_)
    rec_->attributes.push_back(attribute{std::move(key), std::move(value), false});
}

void span::set(std::string key, int64_t value) {
  if (rec_)
    rec_->attributes.push_back(attribute{std::move(key), std::to_string(value), true});
}

void span::fail(std::string message) {
  if (rec_) {
    rec_->error = true;
    rec_->status_message = std::move(message);
  }
}

void span::end() {
  if (!rec_)
    return;
  auto rec = std::move(rec_);
  if (!rec->sampled && !rec->error)
    return; // not sampled: only failures are kept
  rec->end_unix_ns = unix_ns();
  auto& t = the_tracer();
  std::lock_guard<std::mutex> guard{t.mtx};
  if (t.queue.size() >= t.limit) {
    t.dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  t.queue.push_back(std::move(*rec));
  t.queued.fetch_add(1, std::memory_order_relaxed);
}

span start_span(std::string name, span_kind kind, const context& parent) {
  span s;
  if (!enabled()) {
    s.ctx_ = parent;
    return s;
  }
  s.rec_ = std::make_unique<span_record>();
  auto& r = *s.rec_;
  r.name = std::move(name);
  r.kind = kind;
  r.start_unix_ns = unix_ns();
  r.span_id = new_span_id();
  if (parent.valid()) {
    r.trace_id = parent.trace_id;
    r.parent_span_id = parent.span_id;
    r.sampled = parent.sampled();
    r.tracestate = parent.tracestate;
  } else {
    r.trace_id = new_trace_id();
    r.sampled = sampled_by_ratio(r.trace_id);
  }
  s.ctx_.trace_id = r.trace_id;
  s.ctx_.span_id = r.span_id;
  s.ctx_.flags = r.sampled ? 1 : 0;
  s.ctx_.tracestate = parent.tracestate;
  s.ctx_.baggage = parent.baggage;
  return s;
}

std::vector<span_record> take(size_t max) {
  auto& t = the_tracer();
  std::vector<span_record> out;
  std::lock_guard<std::mutex> guard{t.mtx};
  while (!t.queue.empty() && out.size() < max) {
    out.push_back(std::move(t.queue.front()));
    t.queue.pop_front();
  }
  return out;
}

queue_figures figures() {
  auto& t = the_tracer();
  queue_figures f;
  f.queued = t.queued.load(std::memory_order_relaxed);
  f.dropped = t.dropped.load(std::memory_order_relaxed);
  std::lock_guard<std::mutex> guard{t.mtx};
  f.waiting = t.queue.size();
  return f;
}

const context& current() {
  return current_context;
}

context_scope::context_scope(context c) : previous_(std::move(current_context)) {
  current_context = std::move(c);
}

context_scope::~context_scope() {
  current_context = std::move(previous_);
}

caf::message wrap(caf::message inner) {
  if (!enabled() || !current_context.valid())
    return inner;
  return caf::make_message(traced_atom::value, current_context, std::move(inner));
}

} // namespace cafmcp::trace
