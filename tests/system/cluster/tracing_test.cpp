// W3C trace context across a real 2-node cluster: a request with a given
// traceparent yields spans on both nodes, in one trace, linked parent to
// child, received by a local OTLP/HTTP receiver the test starts.

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "tests/support/cluster_fixture.hpp"
#include "tests/support/mcp_call.hpp"
#include "tests/support/otlp_receiver.hpp"

using namespace cafmcp::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

std::string traced_config(const otlp_receiver& rx, double ratio) {
  auto cfg = json::parse(fast_config);
  cfg["observability"]["tracing"] = rx.tracing_config(ratio);
  return cfg.dump();
}

struct two_traced_nodes {
  temp_dir dir;
  otlp_receiver rx;
  std::string cookie = write_cookie(dir, "cookie", "trace-cookie-0123456789");
  std::string config;
  std::unique_ptr<cluster_node> n1, n2;

  explicit two_traced_nodes(double ratio = 1.0) : config(dir.write("node.json", traced_config(rx, ratio))) {
    n1 = std::make_unique<cluster_node>(dir, "n1", cookie, config);
    n2 = std::make_unique<cluster_node>(dir, "n2", cookie, config, n1->address());
    REQUIRE(wait_status(dir, *n1, cookie, [](const json& rows) { return all_up_healthy(rows, 2); }));
  }

  ~two_traced_nodes() {
    for (auto* n : {n1.get(), n2.get()})
      n->proc->signal(SIGTERM);
    for (auto* n : {n1.get(), n2.get()})
      n->proc->wait_exit(20s);
  }

  std::string primary_of(const std::string& handle) {
    auto all = session_primaries(dir, *n1, cookie);
    auto i = all.find(handle);
    return i == all.end() ? std::string{} : i->second;
  }
};

bool ok(const mcp_reply& r) {
  return r.status == 200 && r.body.is_object() && r.body.contains("result")
         && !r.body["result"].value("isError", false);
}

const received_span* find(const std::vector<received_span>& spans, const std::string& node, const std::string& prefix) {
  for (auto& s : spans)
    if (s.node == node && s.span.value("name", "").rfind(prefix, 0) == 0)
      return &s;
  return nullptr;
}

std::string id_of(const received_span* s) {
  return s ? s->span.value("spanId", "") : std::string{"(missing)"};
}

std::string parent_of(const received_span* s) {
  return s ? s->span.value("parentSpanId", "") : std::string{"(missing)"};
}

} // namespace

TEST_CASE("a traceparent sent to one node yields one span tree across both nodes at the OTLP receiver") {
  two_traced_nodes c;
  // A handle led by n2, so that a call through n1 hops to it.
  std::string handle;
  for (int i = 0; i < 40 && handle.empty(); ++i) {
    auto r = mcp_tool_call(c.n1->http_port, "session_open", json::object());
    if (!ok(r)) {
      std::this_thread::sleep_for(100ms);
      continue;
    }
    auto h = r.body["result"]["structuredContent"]["handle"].get<std::string>();
    if (c.primary_of(h) == "n2")
      handle = h;
  }
  REQUIRE_FALSE(handle.empty());

  const std::string trace_id = "0af7651916cd43dd8448eb211c80319c";
  const std::string caller = "b7ad6b7169203331";
  auto r = mcp_tool_call(c.n1->http_port, "session_set", {{"handle", handle}, {"key", "k"}, {"value", "v"}}, 10s,
                         {{"traceparent", "00-" + trace_id + "-" + caller + "-01"},
                          {"tracestate", "vendor=opaque"},
                          {"baggage", "tenant=acme,request.kind=test"}});
  REQUIRE(ok(r));

  auto spans = c.rx.wait_trace(trace_id, [](const std::vector<received_span>& s) {
    return find(s, "n1", "cluster.forward") && find(s, "n2", "cluster.serve") && find(s, "n1", "POST");
  }, 10s);
  for (auto& s : spans)
    MESSAGE(s.node << ": " << s.span.value("name", "") << " " << s.span.value("spanId", "") << " <- "
                   << s.span.value("parentSpanId", ""));
  auto transport = find(spans, "n1", "POST /mcp");
  auto request = find(spans, "n1", "tools/call");
  auto tool = find(spans, "n1", "tool session_set");
  auto hop = find(spans, "n1", "cluster.forward");
  auto serve = find(spans, "n2", "cluster.serve");
  REQUIRE(transport);
  REQUIRE(request);
  REQUIRE(tool);
  REQUIRE(hop);
  REQUIRE(serve);
  // One tree: caller → transport → request → tool call → hop → the primary's span.
  CHECK(parent_of(transport) == caller);
  CHECK(parent_of(request) == id_of(transport));
  CHECK(parent_of(tool) == id_of(request));
  CHECK(parent_of(hop) == id_of(tool));
  CHECK(parent_of(serve) == id_of(hop));
  CHECK(transport->span["kind"] == 2); // SERVER
  CHECK(hop->span["kind"] == 3);       // CLIENT
  CHECK(serve->span["kind"] == 2);
  CHECK(hop->attribute("cafmcp.peer") == "n2");
  CHECK(transport->attribute("http.response.status_code") == "200");
  CHECK(request->attribute("gen_ai.tool.name") == "session_set");
  // tracestate and baggage travel with the context, to the other node too.
  CHECK(serve->span.value("traceState", "") == "vendor=opaque");
  CHECK(transport->attribute("baggage.tenant") == "acme");
  for (auto* s : {transport, request, tool, hop, serve})
    CHECK_FALSE(s->span.contains("status")); // none failed
}

TEST_CASE("an invalid traceparent starts a new trace and the call still succeeds") {
  two_traced_nodes c;
  auto before = c.rx.spans().size();
  auto r = mcp_tool_call(c.n1->http_port, "echo", {{"text", "hi"}}, 10s,
                         {{"traceparent", "00-00000000000000000000000000000000-b7ad6b7169203331-01"}});
  REQUIRE(ok(r));
  std::vector<received_span> fresh;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    auto all = c.rx.spans();
    fresh.assign(all.begin() + static_cast<std::ptrdiff_t>(std::min(before, all.size())), all.end());
    if (find(fresh, "n1", "POST /mcp"))
      break;
    std::this_thread::sleep_for(50ms);
  }
  auto transport = find(fresh, "n1", "POST /mcp");
  REQUIRE(transport);
  auto id = transport->span.value("traceId", "");
  CHECK(id.size() == 32);
  CHECK(id != std::string(32, '0'));
  CHECK_FALSE(transport->span.contains("parentSpanId")); // a root: the invalid parent was ignored
}

TEST_CASE("with a sample ratio of 0 only failing requests are exported") {
  two_traced_nodes c{0.0};
  for (int i = 0; i < 5; ++i)
    REQUIRE(ok(mcp_tool_call(c.n1->http_port, "echo", {{"text", "fine"}})));
  auto bad = mcp_tool_call(c.n1->http_port, "session_get", {{"handle", "no-such-handle"}, {"key", "k"}});
  REQUIRE(bad.status == 200);
  CHECK(bad.body["result"].value("isError", false));
  std::vector<received_span> got;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    got = c.rx.spans();
    if (find(got, "n1", "tool session_get"))
      break;
    std::this_thread::sleep_for(50ms);
  }
  auto tool = find(got, "n1", "tool session_get");
  REQUIRE(tool);
  CHECK(tool->span["status"]["code"] == 2);
  CHECK_FALSE(find(got, "n1", "tool echo")); // the successful, unsampled calls left nothing
}
