// W3C Trace Context and spans: parsing, sampling and the bounded span queue.
#include "base/trace.hpp"

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

/// A random non-zero 64-bit id.
uint64_t random_id() {
  thread_local std::mt19937_64 gen{std::random_device{}()
                                   ^ static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count())};
  for (;;)
    if (auto v = gen())
      return v;
}

uint64_t parse_hex(std::string_view s) {
  uint64_t v = 0;
  for (char c : s)
    v = (v << 4) | static_cast<uint64_t>(c <= '9' ? c - '0' : c - 'a' + 10);
  return v;
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
  size_t batch = 512;
  std::shared_ptr<std::function<void()>> wake; // under mtx
  std::atomic<uint64_t> queued{0}, dropped{0};
};

tracer& the_tracer() {
  static tracer* t = new tracer; // never destroyed: spans may end during static destruction
  return *t;
}

thread_local context current_context;

bool sampled_by_ratio(uint64_t trace_lo) {
  auto& t = the_tracer();
  if (t.sample_all.load(std::memory_order_relaxed))
    return true;
  return trace_lo < t.threshold.load(std::memory_order_relaxed);
}

void push(std::unique_ptr<span_record> rec) {
  rec->end_unix_ns = unix_ns();
  auto& t = the_tracer();
  std::shared_ptr<std::function<void()>> wake;
  {
    std::lock_guard<std::mutex> guard{t.mtx};
    if (t.queue.size() >= t.limit) {
      t.dropped.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    t.queue.push_back(std::move(*rec));
    t.queued.fetch_add(1, std::memory_order_relaxed);
    if (t.queue.size() % t.batch == 0)
      wake = t.wake;
  }
  if (wake && *wake)
    (*wake)();
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
  auto trace_id = h.substr(3, 32), span_id = h.substr(36, 16), flags = h.substr(53, 2);
  if (!is_lower_hex(trace_id) || !is_lower_hex(span_id) || !is_lower_hex(flags))
    return fail("traceparent ids and flags are lowercase hex");
  if (all_zero(trace_id))
    return fail("an all-zero trace id is invalid");
  if (all_zero(span_id))
    return fail("an all-zero parent id is invalid");
  context c;
  c.trace_hi = parse_hex(trace_id.substr(0, 16));
  c.trace_lo = parse_hex(trace_id.substr(16));
  c.span = parse_hex(span_id);
  c.flags = static_cast<uint8_t>(parse_hex(flags));
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

context from_carriers(std::string_view traceparent, std::string_view tracestate, std::string_view baggage,
                      std::string* why) {
  context c;
  if (!traceparent.empty()) {
    if (auto parsed = parse_traceparent(traceparent, why)) {
      c = std::move(*parsed);
      if (!tracestate.empty() && valid_tracestate(tracestate))
        c.tracestate = std::string{tracestate};
    }
  }
  if (!baggage.empty() && valid_baggage(baggage))
    c.baggage = std::string{baggage};
  return c;
}

std::string hex_id(uint64_t id) {
  static const char* digits = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, id >>= 4)
    out[static_cast<size_t>(i)] = digits[id & 0xf];
  return out;
}

std::string hex_id(uint64_t hi, uint64_t lo) {
  return hex_id(hi) + hex_id(lo);
}

std::string context::trace_id() const {
  return hex_id(trace_hi, trace_lo);
}

std::string context::span_id() const {
  return hex_id(span);
}

std::string traceparent(const context& c) {
  static const char* digits = "0123456789abcdef";
  std::string out = "00-" + c.trace_id() + "-" + c.span_id() + "-";
  out += digits[(c.flags >> 4) & 0xf];
  out += digits[c.flags & 0xf];
  return out;
}

void configure(const tracer_config& cfg) {
  auto& t = the_tracer();
  {
    std::lock_guard<std::mutex> guard{t.mtx};
    t.limit = cfg.queue_limit;
    t.batch = std::max<size_t>(1, cfg.batch_size);
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

void on_batch_ready(std::function<void()> fn) {
  auto& t = the_tracer();
  auto p = fn ? std::make_shared<std::function<void()>>(std::move(fn)) : nullptr;
  std::lock_guard<std::mutex> guard{t.mtx};
  t.wake = std::move(p);
}

span& span::operator=(span&& other) noexcept {
  if (this != &other) {
    end();
    rec_ = std::move(other.rec_);
    ctx_ = std::move(other.ctx_);
    live_ = other.live_;
    other.live_ = false;
    name_ = std::move(other.name_);
    kind_ = other.kind_;
    start_ns_ = other.start_ns_;
    parent_ = other.parent_;
  }
  return *this;
}

void span::set(std::string_view key, std::string_view value) {
  if (rec_)
    rec_->attributes.push_back(attribute{std::string{key}, std::string{value}, false});
}

void span::set(std::string_view key, int64_t value) {
  if (rec_)
    rec_->attributes.push_back(attribute{std::string{key}, std::to_string(value), true});
}

void span::fail(std::string message) {
  if (!live_)
    return;
  if (!rec_) {
    // Unsampled until now: failures are always kept.
    rec_ = std::make_unique<span_record>();
    rec_->trace_hi = ctx_.trace_hi;
    rec_->trace_lo = ctx_.trace_lo;
    rec_->span_id = ctx_.span;
    rec_->parent_span_id = parent_;
    rec_->name = std::move(name_);
    rec_->kind = kind_;
    rec_->start_unix_ns = start_ns_;
    rec_->tracestate = ctx_.tracestate;
  }
  rec_->error = true;
  rec_->status_message = std::move(message);
}

void span::end() {
  if (!live_)
    return;
  live_ = false;
  if (rec_)
    push(std::move(rec_));
}

span start_span(std::string name, span_kind kind, const context& parent) {
  span s;
  if (!enabled()) {
    s.ctx_ = parent;
    return s;
  }
  s.live_ = true;
  s.ctx_.span = random_id();
  if (parent.valid()) {
    s.ctx_.trace_hi = parent.trace_hi;
    s.ctx_.trace_lo = parent.trace_lo;
    s.ctx_.flags = parent.flags & 1;
    s.parent_ = parent.span;
  } else {
    s.ctx_.trace_hi = random_id();
    s.ctx_.trace_lo = random_id();
    s.ctx_.flags = sampled_by_ratio(s.ctx_.trace_lo) ? 1 : 0;
  }
  s.ctx_.tracestate = parent.tracestate;
  s.ctx_.baggage = parent.baggage;
  auto start = unix_ns();
  if (!s.ctx_.sampled()) {
    s.name_ = std::move(name);
    s.kind_ = kind;
    s.start_ns_ = start;
    return s;
  }
  s.rec_ = std::make_unique<span_record>();
  auto& r = *s.rec_;
  r.trace_hi = s.ctx_.trace_hi;
  r.trace_lo = s.ctx_.trace_lo;
  r.span_id = s.ctx_.span;
  r.parent_span_id = s.parent_;
  r.name = std::move(name);
  r.kind = kind;
  r.start_unix_ns = start;
  r.tracestate = parent.tracestate;
  r.sampled = true;
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
