#pragma once

// Exports finished spans (supervision/trace) over OTLP/HTTP with JSON
// encoding to a collector (default http://127.0.0.1:4318/v1/traces): a
// detached tier-3 actor that takes batches off the process's span queue
// every interval and POSTs them. A failed export drops its batch (counted);
// nothing waits for it but this actor. Without tracing enabled it is not
// started and the request path skips tracing after one branch.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "supervision/child_spec.hpp"
#include "base/config_schema.hpp"
#include "base/metrics.hpp"
#include "base/trace.hpp"

namespace cafmcp::observability {

struct tracing_config {
  bool enabled = false;
  std::string endpoint = "http://127.0.0.1:4318/v1/traces";
  std::string host = "127.0.0.1"; // from endpoint
  std::string port = "4318";
  std::string path = "/v1/traces";
  double sample_ratio = 0.1;
  size_t batch_size = 512;
  size_t queue_limit = 4096;
  std::chrono::milliseconds interval{1000};
  std::chrono::milliseconds timeout{2000};
  std::string service_name = "cafmcp";
  std::string node_name; // service.instance.id
  std::string version;   // service.version
};

/// The "tracing" keys inside the "observability" section.
config::field tracing_config_field();
/// Reads observability.tracing; throws config::config_error for an
/// endpoint that is not http://HOST[:PORT]/PATH.
tracing_config tracing_config_from(const nlohmann::json& validated);

/// A batch in OTLP/JSON (ExportTraceServiceRequest) for `cfg`'s service.
std::string otlp_body(const std::vector<trace::span_record>& spans, const tracing_config& cfg);

/// The exporter's child spec (id "otlp_exporter", detached: it blocks on
/// its HTTP requests).
supervision::child_spec otlp_exporter_spec(tracing_config cfg, std::shared_ptr<metrics::metrics_registry> metrics);

} // namespace cafmcp::observability
