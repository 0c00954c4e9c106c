#pragma once

// Distributed tracing in the W3C Trace Context model, kept generic (no MCP,
// no cluster): a trace context travels with a request — in HTTP headers,
// and inside CAF messages to other actors and nodes — and every part that
// handles the request records a span under it. Finished spans go to one
// process-wide bounded queue that the observability tier's exporter
// drains; when the queue is full a span is dropped and counted, so the core
// never waits for an exporter. With tracing off (the default) starting a
// span costs one relaxed atomic load.

#include <atomic>
#include <functional>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/atom.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>
#include <caf/meta/type_name.hpp>

namespace cafmcp::trace {

/// What a request carries so that what it causes joins its trace. The ids
/// are kept as numbers (cheap to copy along a request); they become hex
/// only in headers and exports.
struct context {
  uint64_t trace_hi = 0, trace_lo = 0; // the 128-bit trace id (0: no trace)
  uint64_t span = 0;                   // the span the next one is a child of
  uint8_t flags = 0;                   // bit 0: sampled
  std::string tracestate;              // vendor data, passed on unchanged (validated)
  std::string baggage;                 // W3C baggage: application key=value pairs (validated)

  bool valid() const { return trace_hi != 0 || trace_lo != 0; }
  bool sampled() const { return (flags & 1) != 0; }
  std::string trace_id() const; // 32 lowercase hex digits
  std::string span_id() const;  // 16 lowercase hex digits
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, context& x) {
  return f(caf::meta::type_name("trace_context"), x.trace_hi, x.trace_lo, x.span, x.flags, x.tracestate, x.baggage);
}

/// 128-bit and 64-bit ids as lowercase hex.
std::string hex_id(uint64_t hi, uint64_t lo);
std::string hex_id(uint64_t id);

/// Parses a traceparent header (`00-<trace id>-<parent id>-<flags>`), as
/// W3C Trace Context level 1 says: lowercase hex, all-zero ids invalid,
/// version ff invalid, later versions read by their version-00 prefix.
/// Without a value (and `why` set to the reason) when it is invalid.
std::optional<context> parse_traceparent(std::string_view header, std::string* why = nullptr);

/// Whether a tracestate header is valid (≤ 32 list members of key=value).
bool valid_tracestate(std::string_view header);

/// Whether a baggage header is valid (W3C Baggage: ≤ 180 members of
/// key=value[;properties], ≤ 8192 bytes).
bool valid_baggage(std::string_view header);

/// The baggage's key=value pairs (values percent-decoded, properties dropped).
std::vector<std::pair<std::string, std::string>> baggage_entries(std::string_view header);

/// The context carried by the three W3C headers (or fields of the same
/// names): invalid when there is no valid traceparent (`why` says why, if
/// one was given), with tracestate only under a valid traceparent and
/// baggage whenever it is valid.
context from_carriers(std::string_view traceparent, std::string_view tracestate, std::string_view baggage,
                      std::string* why = nullptr);

/// The traceparent header for `c` (version 00).
std::string traceparent(const context& c);


enum class span_kind : uint8_t { internal = 1, server = 2, client = 3 };

struct attribute {
  std::string key;
  std::string text; // the value as text
  bool integer = false; // exported as an integer
};

/// A finished span, as the exporter sees it.
struct span_record {
  uint64_t trace_hi = 0, trace_lo = 0, span_id = 0, parent_span_id = 0; // parent 0: a root
  std::string name, tracestate;
  span_kind kind = span_kind::internal;
  uint64_t start_unix_ns = 0, end_unix_ns = 0;
  std::vector<attribute> attributes;
  bool error = false;
  std::string status_message;
  bool sampled = false;
};

struct tracer_config {
  bool enabled = false;
  /// Share of new traces recorded (0 … 1), by trace id so every node of a
  /// request decides alike. A request that comes with a context follows
  /// its sampled flag. Spans that end in an error are always kept.
  double sample_ratio = 0.1;
  size_t queue_limit = 4096; // finished spans waiting for the exporter
  size_t batch_size = 512;   // the exporter is woken when this many wait
};

/// Sets up (or turns off) tracing for the process.
void configure(const tracer_config& cfg);
bool enabled();

/// Called (on the thread that ends a span) whenever a full batch waits:
/// the exporter's wake-up. It must not block. Empty: none.
void on_batch_ready(std::function<void()> fn);

/// One span: started by start_span, ended by end() or its destructor.
/// Inactive (every call a no-op) when tracing is off. An unsampled span
/// costs no allocation: it keeps no attributes, and is recorded only if it
/// fails (with its name, times, ids and status).
class span {
public:
  span() = default;
  span(span&& other) noexcept { *this = std::move(other); }
  span& operator=(span&& other) noexcept;
  span(const span&) = delete;
  span& operator=(const span&) = delete;
  ~span() { end(); }

  bool active() const { return live_; }
  /// The context a child of this span (or a message sent for it) carries;
  /// the parent's as it came when inactive.
  const context& ctx() const { return ctx_; }
  /// Whether attributes are kept (sampled): check before building costly ones.
  bool recording() const { return rec_ != nullptr; }
  void set(std::string_view key, std::string_view value);
  void set(std::string_view key, int64_t value);
  void fail(std::string message);
  /// Records the end time and queues the span (if sampled or failed).
  void end();

private:
  friend span start_span(std::string name, span_kind kind, const context& parent);
  std::unique_ptr<span_record> rec_; // sampled, or failed
  context ctx_;
  bool live_ = false;       // started with tracing on, not ended
  std::string name_;        // unsampled: kept in case it fails
  span_kind kind_ = span_kind::internal;
  uint64_t start_ns_ = 0;
  uint64_t parent_ = 0;
};

/// Starts a span under `parent` (a new trace when it is not valid).
span start_span(std::string name, span_kind kind, const context& parent);

/// Takes up to `max` finished spans off the queue (the exporter's side).
std::vector<span_record> take(size_t max);

/// Figures since start: spans queued, dropped because the queue was full,
/// and waiting now.
struct queue_figures {
  uint64_t queued = 0, dropped = 0;
  size_t waiting = 0;
};
queue_figures figures();

/// The trace context of the work this thread does now (invalid: none).
const context& current();

/// While it lives, current() on this thread is `c`; scopes nest.
class context_scope {
public:
  explicit context_scope(context c);
  ~context_scope();
  context_scope(const context_scope&) = delete;
  context_scope& operator=(const context_scope&) = delete;

private:
  context previous_;
};

/// A message that carries a trace context: (traced_atom, context, inner).
/// Actors that take part in tracing unwrap it; inner is answered as if it
/// came alone.
using traced_atom = caf::atom_constant<caf::atom("traced")>;

/// `inner` wrapped with this thread's current context when tracing is on
/// and there is one; else `inner` itself (no cost when off).
caf::message wrap(caf::message inner);

} // namespace cafmcp::trace
