#pragma once

// A local OTLP/HTTP (JSON) traces receiver for tests: listens on a free
// 127.0.0.1 port, answers every POST with 200 {} and keeps the spans it
// got, each with the service.instance.id of the node that sent it.

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace cafmcp::test {

struct received_span {
  std::string node; // service.instance.id
  nlohmann::json span;
  std::string attribute(const std::string& key) const;
};

class otlp_receiver {
public:
  otlp_receiver();
  ~otlp_receiver();
  otlp_receiver(const otlp_receiver&) = delete;
  otlp_receiver& operator=(const otlp_receiver&) = delete;

  uint16_t port() const { return port_; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1/traces"; }
  /// A node's observability.tracing section exporting here (fast, at `ratio`).
  nlohmann::json tracing_config(double ratio) const {
    return {{"enabled", true}, {"endpoint", endpoint()}, {"sample_ratio", ratio}, {"export_interval_ms", 100}};
  }
  std::vector<received_span> spans() const;
  /// The spans of trace `id`; waits (bounded) until `pred` holds for them.
  std::vector<received_span> wait_trace(const std::string& id,
                                        const std::function<bool(const std::vector<received_span>&)>& pred,
                                        std::chrono::milliseconds limit);
  size_t requests() const { return requests_; }

private:
  void serve();
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<size_t> requests_{0};
  mutable std::mutex mtx_;
  std::vector<received_span> spans_;
  std::thread thread_;
};

} // namespace cafmcp::test
