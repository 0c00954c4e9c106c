#pragma once

// Metrics: counters, gauges and histograms with labels, and their
// Prometheus text exposition (format 0.0.4). Recording is a relaxed atomic
// add on a series the caller holds (or caches): no lock, no message, so the
// core records without ever waiting on the observability tier, which only
// reads (renders) the registry. Creating a series takes a lock once.
// Generic: no MCP here; every part names its own series (cafmcp_…).

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

namespace cafmcp::metrics {

using metric_labels = std::vector<std::pair<std::string, std::string>>;

/// Keeps a label whose values come from outside (a tenant, a client's
/// name) to its first `limit` distinct values; any later one reads as
/// "other", so the series stay bounded whatever is sent. Thread-safe.
class label_cap {
public:
  explicit label_cap(size_t limit) : limit_(limit) {}

  std::string operator()(const std::string& value) {
    std::lock_guard<std::mutex> g{mtx_};
    for (auto& v : seen_)
      if (v == value)
        return value;
    if (seen_.size() >= limit_)
      return "other";
    seen_.push_back(value);
    return value;
  }

private:
  std::mutex mtx_;
  size_t limit_;
  std::vector<std::string> seen_;
};

class counter_series {
public:
  void inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  /// For a counter that mirrors a count kept elsewhere (it only grows there).
  void store(uint64_t v) { value_.store(v, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

private:
  std::atomic<uint64_t> value_{0};
};

class gauge_series {
public:
  void set(double v) { bits_.store(to_bits(v), std::memory_order_relaxed); }
  void add(double d);
  double value() const { return from_bits(bits_.load(std::memory_order_relaxed)); }

private:
  static uint64_t to_bits(double v);
  static double from_bits(uint64_t b);
  std::atomic<uint64_t> bits_{0};
};

class histogram_series {
public:
  explicit histogram_series(std::vector<double> bounds);
  void observe(double v);
  const std::vector<double>& bounds() const { return bounds_; }
  /// Cumulative counts per bound (then +Inf), the sum and the count.
  std::vector<uint64_t> cumulative() const;
  double sum() const { return sum_.value(); }
  uint64_t count() const { return count_.value(); }

private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_; // bounds_.size() + 1 (the last: +Inf)
  counter_series count_;
  gauge_series sum_;
};

class metrics_registry {
public:
  /// The series of family `name` with `labels` (created on first use; the
  /// reference stays valid as long as the registry). The first call for a
  /// name fixes its help text (and, for histograms, its buckets).
  counter_series& counter(const std::string& name, const std::string& help, const metric_labels& labels = {});
  gauge_series& gauge(const std::string& name, const std::string& help, const metric_labels& labels = {});
  histogram_series& histogram(const std::string& name, const std::string& help, const metric_labels& labels,
                              const std::vector<double>& bounds);

  /// Takes every series with label `label` = `value` out of the registry
  /// (what it counted is gone, e.g. an upstream server that was removed):
  /// it is no longer rendered, and asking for it again starts a new series
  /// from 0. References to the old series stay valid (counting nothing
  /// anyone reads). Returns how many series went.
  size_t retire(const std::string& label, const std::string& value);

  /// Prometheus text exposition format 0.0.4, families sorted by name.
  std::string render() const;

  /// Every series of counter `name` with its value (reading, e.g. for alerts).
  std::vector<std::pair<metric_labels, uint64_t>> counter_values(const std::string& name) const;
  /// Histogram `name` summed over its series: bounds, cumulative counts
  /// (then +Inf); empty when there is none.
  std::pair<std::vector<double>, std::vector<uint64_t>> histogram_totals(const std::string& name) const;

  /// Default latency buckets (seconds): 0.5 ms … 10 s.
  static const std::vector<double>& latency_buckets();

  /// Unique per registry in the process (callers' per-thread caches key on it).
  uint64_t id() const { return id_; }

private:
  static uint64_t next_id();
  uint64_t id_ = next_id();
  enum class kind { counter, gauge, histogram };
  struct family {
    kind type;
    std::string help;
    std::vector<double> bounds;
    std::map<metric_labels, size_t> series; // → index into the matching deque
  };
  family& family_of(const std::string& name, kind type, const std::string& help, const std::vector<double>& bounds);
  /// Finds the series of `name` with `labels` in `store`, or adds one built from `args`.
  template <class Series, class... Args>
  Series& series_of(std::deque<Series>& store, const std::string& name, kind type, const std::string& help,
                    const metric_labels& labels, const std::vector<double>& bounds, Args&&... args);

  mutable std::shared_mutex mtx_;
  std::map<std::string, family> families_;
  std::deque<counter_series> counters_;
  std::deque<gauge_series> gauges_;
  std::deque<histogram_series> histograms_;
};

/// A label value escaped for the exposition format (\\, \" and \n).
std::string escape_label_value(const std::string& v);

} // namespace cafmcp::metrics
