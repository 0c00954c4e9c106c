// W3C Trace Context parsing and the process's span queue.

#include <doctest/doctest.h>

#include "base/trace.hpp"

using namespace cafmcp;

namespace {

/// Tracing on for one test case, off (and the queue empty) after it.
struct tracing_on {
  explicit tracing_on(double ratio = 1.0, size_t limit = 4096) {
    trace::configure(trace::tracer_config{true, ratio, limit});
  }
  ~tracing_on() { trace::configure(trace::tracer_config{}); }
};

const char* good = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

} // namespace

TEST_CASE("a valid traceparent is parsed into its trace id, parent id and sampled flag") {
  auto c = trace::parse_traceparent(good);
  REQUIRE(c);
  CHECK(c->trace_id() == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(c->span_id() == "00f067aa0ba902b7");
  CHECK(c->sampled());
  CHECK(trace::traceparent(*c) == good);
  auto unsampled = trace::parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  REQUIRE(unsampled);
  CHECK_FALSE(unsampled->sampled());
}

TEST_CASE("invalid traceparents are refused with the reason") {
  std::string why;
  CHECK_FALSE(trace::parse_traceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01", &why));
  CHECK(why.find("all-zero trace id") != std::string::npos);
  CHECK_FALSE(trace::parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", &why));
  CHECK(why.find("all-zero parent id") != std::string::npos);
  CHECK_FALSE(trace::parse_traceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", &why));
  CHECK(why.find("lowercase") != std::string::npos);
  CHECK_FALSE(trace::parse_traceparent("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", &why));
  CHECK_FALSE(trace::parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", &why));
  CHECK_FALSE(trace::parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7", &why));
  CHECK_FALSE(trace::parse_traceparent("00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01", &why));
  CHECK_FALSE(trace::parse_traceparent("", &why));
  // A later version is read by its version-00 prefix.
  auto later = trace::parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-comes-next");
  REQUIRE(later);
  CHECK(later->trace_id() == "4bf92f3577b34da6a3ce929d0e0e4736");
}

TEST_CASE("tracestate and baggage are validated and baggage is decoded") {
  CHECK(trace::valid_tracestate("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"));
  CHECK(trace::valid_tracestate("tenant@vendor=x, other=y"));
  CHECK_FALSE(trace::valid_tracestate("Upper=1"));
  CHECK_FALSE(trace::valid_tracestate("novalue"));
  CHECK_FALSE(trace::valid_tracestate("k=a,b"));
  std::string many;
  for (int i = 0; i < 33; ++i)
    many += (many.empty() ? "" : ",") + std::string{"k"} + std::to_string(i) + "=v";
  CHECK_FALSE(trace::valid_tracestate(many));

  CHECK(trace::valid_baggage("userId=alice,serverNode=DF%2028,isProduction=false;prop"));
  CHECK_FALSE(trace::valid_baggage("no-equals"));
  CHECK_FALSE(trace::valid_baggage("k=has space inside"));
  auto entries = trace::baggage_entries("userId=alice, serverNode=DF%2028;p=1");
  REQUIRE(entries.size() == 2);
  CHECK(entries[1].first == "serverNode");
  CHECK(entries[1].second == "DF 28");
  CHECK(trace::baggage_entries("bad baggage").empty());
}

TEST_CASE("with tracing off a span is inactive and nothing is queued") {
  trace::configure(trace::tracer_config{});
  auto before = trace::figures().queued;
  {
    auto s = trace::start_span("x", trace::span_kind::server, {});
    CHECK_FALSE(s.active());
    s.set("k", "v");
    s.fail("boom");
  }
  CHECK(trace::figures().queued == before);
  CHECK(trace::take(10).empty());
}

TEST_CASE("a child span joins its parent's trace and links to it") {
  tracing_on on;
  auto parent = trace::parse_traceparent(good);
  REQUIRE(parent);
  parent->baggage = "user=alice";
  {
    auto root = trace::start_span("root", trace::span_kind::server, *parent);
    REQUIRE(root.active());
    CHECK(root.ctx().trace_id() == parent->trace_id());
    CHECK(root.ctx().span != parent->span);
    CHECK(root.ctx().baggage == "user=alice");
    auto child = trace::start_span("child", trace::span_kind::internal, root.ctx());
    child.set("n", int64_t{3});
    child.end();
    root.end();
    auto spans = trace::take(10);
    REQUIRE(spans.size() == 2);
    CHECK(spans[0].name == "child");
    CHECK(spans[0].parent_span_id == spans[1].span_id);
    CHECK(spans[1].parent_span_id == parent->span);
    CHECK(spans[0].trace_lo == parent->trace_lo);
    CHECK(spans[0].end_unix_ns >= spans[0].start_unix_ns);
    REQUIRE(spans[0].attributes.size() == 1);
    CHECK(spans[0].attributes[0].integer);
  }
}

TEST_CASE("unsampled spans are dropped unless they fail") {
  tracing_on on{0.0};
  {
    auto ok = trace::start_span("ok", trace::span_kind::server, {});
    CHECK_FALSE(ok.ctx().sampled());
    auto bad = trace::start_span("bad", trace::span_kind::server, {});
    bad.fail("it broke");
  }
  auto spans = trace::take(10);
  REQUIRE(spans.size() == 1);
  CHECK(spans[0].name == "bad");
  CHECK(spans[0].error);
  CHECK(spans[0].status_message == "it broke");
  // A caller's sampled flag wins over the ratio.
  auto parent = trace::parse_traceparent(good);
  { auto s = trace::start_span("follows", trace::span_kind::server, *parent); }
  CHECK(trace::take(10).size() == 1);
}

TEST_CASE("an unsampled span that fails is kept with its name, ids and status but no attributes") {
  tracing_on on{0.0};
  auto parent = trace::start_span("parent", trace::span_kind::server, {});
  auto s = trace::start_span("child", trace::span_kind::client, parent.ctx());
  s.set("dropped", "unsampled");
  s.fail("no quorum");
  s.end();
  parent.end();
  auto spans = trace::take(10);
  REQUIRE(spans.size() == 1);
  CHECK(spans[0].name == "child");
  CHECK(spans[0].kind == trace::span_kind::client);
  CHECK(spans[0].parent_span_id == parent.ctx().span);
  CHECK(spans[0].trace_lo == parent.ctx().trace_lo);
  CHECK(spans[0].attributes.empty());
  CHECK(spans[0].start_unix_ns > 0);
  CHECK(spans[0].end_unix_ns >= spans[0].start_unix_ns);
}

TEST_CASE("the exporter is woken each time a full batch waits") {
  trace::configure(trace::tracer_config{true, 1.0, 100, 4});
  int wakes = 0;
  trace::on_batch_ready([&] { ++wakes; });
  for (int i = 0; i < 9; ++i)
    trace::start_span("s", trace::span_kind::internal, {}).end();
  CHECK(wakes == 2);
  trace::on_batch_ready({});
  trace::configure(trace::tracer_config{});
}

TEST_CASE("a full span queue drops and counts instead of growing") {
  tracing_on on{1.0, 3};
  auto before = trace::figures();
  for (int i = 0; i < 5; ++i)
    trace::start_span("s", trace::span_kind::internal, {}).end();
  auto after = trace::figures();
  CHECK(after.waiting == 3);
  CHECK(after.dropped - before.dropped == 2);
  CHECK(trace::take(10).size() == 3);
}

TEST_CASE("wrap carries this thread's context in a message only while tracing is on") {
  auto inner = caf::make_message(std::string{"payload"});
  trace::context c = *trace::parse_traceparent(good);
  {
    trace::context_scope scope{c};
    CHECK(trace::wrap(inner).match_elements<std::string>()); // off: unchanged
    tracing_on on;
    auto w = trace::wrap(inner);
    REQUIRE((w.match_elements<trace::traced_atom, trace::context, caf::message>()));
    CHECK(w.get_as<trace::context>(1).trace_id() == c.trace_id());
  }
  tracing_on on;
  CHECK_FALSE(trace::current().valid());
  CHECK(trace::wrap(inner).match_elements<std::string>()); // no current context
}
