#pragma once

// A local OTLP/HTTP (JSON) traces receiver for tests: listens on a free
// 127.0.0.1 port, answers every POST with 200 {} and keeps the spans it
// got, each with the service.instance.id of the node that sent it.

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/stub_http_server.hpp"

namespace cafmcp::test {

struct received_span {
  std::string node; // service.instance.id
  nlohmann::json span;
  std::string attribute(const std::string& key) const;
};

class otlp_receiver {
public:
  otlp_receiver();

  uint16_t port() const { return server_.port(); }
  std::string endpoint() const { return server_.url("/v1/traces"); }
  /// A node's observability.tracing section exporting here (fast, at `ratio`).
  nlohmann::json tracing_config(double ratio) const {
    return {{"enabled", true}, {"endpoint", endpoint()}, {"sample_ratio", ratio}, {"export_interval_ms", 100}};
  }
  std::vector<received_span> spans() const;
  /// The spans of trace `id`; waits (bounded) until `pred` holds for them.
  std::vector<received_span> wait_trace(const std::string& id,
                                        const std::function<bool(const std::vector<received_span>&)>& pred,
                                        std::chrono::milliseconds limit);
  size_t requests() const { return server_.requests(); }

private:
  void take(const std::string& body);
  mutable std::mutex mtx_;
  std::vector<received_span> spans_;
  stub_http_server server_; // last: stopped before what it writes to
};

} // namespace cafmcp::test
