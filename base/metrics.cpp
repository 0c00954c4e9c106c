// The metrics registry: labelled counters, gauges and histograms, rendered as Prometheus text.
#include "base/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <stdexcept>

namespace cafmcp::metrics {

uint64_t gauge_series::to_bits(double v) {
  uint64_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

double gauge_series::from_bits(uint64_t b) {
  double v;
  std::memcpy(&v, &b, sizeof v);
  return v;
}

void gauge_series::add(double d) {
  auto old = bits_.load(std::memory_order_relaxed);
  while (!bits_.compare_exchange_weak(old, to_bits(from_bits(old) + d), std::memory_order_relaxed)) {
  }
}

histogram_series::histogram_series(std::vector<double> bounds)
  : bounds_(std::move(bounds)), buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  std::sort(bounds_.begin(), bounds_.end());
  for (size_t i = 0; i <= bounds_.size(); ++i)
    buckets_[i].store(0, std::memory_order_relaxed);
}

void histogram_series::observe(double v) {
  auto i = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.inc();
  sum_.add(v);
}

std::vector<uint64_t> histogram_series::cumulative() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    total += buckets_[i].load(std::memory_order_relaxed);
    out[i] = total;
  }
  return out;
}

uint64_t metrics_registry::next_id() {
  static std::atomic<uint64_t> n{0};
  return ++n;
}

const std::vector<double>& metrics_registry::latency_buckets() {
  static const std::vector<double> b{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                     0.1,    0.25,  0.5,    1,     2.5,  5,     10};
  return b;
}

metrics_registry::family& metrics_registry::family_of(const std::string& name, kind type, const std::string& help,
                                                      const std::vector<double>& bounds) {
  auto i = families_.find(name);
  if (i == families_.end())
    i = families_.emplace(name, family{type, help, bounds, {}}).first;
  else if (i->second.type != type)
    throw std::logic_error("metric " + name + " is registered with another type");
  return i->second;
}

template <class Series, class... Args>
Series& metrics_registry::series_of(std::deque<Series>& store, const std::string& name, kind type,
                                    const std::string& help, const metric_labels& labels,
                                    const std::vector<double>& bounds, Args&&... args) {
  {
    std::shared_lock<std::shared_mutex> read{mtx_};
    if (auto f = families_.find(name); f != families_.end() && f->second.type == type)
      if (auto s = f->second.series.find(labels); s != f->second.series.end())
        return store[s->second];
  }
  std::unique_lock<std::shared_mutex> write{mtx_};
  auto& f = family_of(name, type, help, bounds);
  if (auto s = f.series.find(labels); s != f.series.end())
    return store[s->second];
  store.emplace_back(std::forward<Args>(args)...);
  f.series.emplace(labels, store.size() - 1);
  return store.back();
}

counter_series& metrics_registry::counter(const std::string& name, const std::string& help,
                                          const metric_labels& labels) {
  return series_of(counters_, name, kind::counter, help, labels, {});
}

gauge_series& metrics_registry::gauge(const std::string& name, const std::string& help, const metric_labels& labels) {
  return series_of(gauges_, name, kind::gauge, help, labels, {});
}

histogram_series& metrics_registry::histogram(const std::string& name, const std::string& help,
                                              const metric_labels& labels, const std::vector<double>& bounds) {
  // A family's buckets are fixed by its first use.
  std::vector<double> fixed;
  {
    std::shared_lock<std::shared_mutex> read{mtx_};
    auto f = families_.find(name);
    fixed = f == families_.end() ? bounds : f->second.bounds;
  }
  return series_of(histograms_, name, kind::histogram, help, labels, bounds, fixed);
}

size_t metrics_registry::retire(const std::string& label, const std::string& value) {
  std::unique_lock<std::shared_mutex> write{mtx_};
  size_t gone = 0;
  for (auto& [name, f] : families_)
    for (auto s = f.series.begin(); s != f.series.end();) {
      bool match = std::any_of(s->first.begin(), s->first.end(),
                               [&](const auto& l) { return l.first == label && l.second == value; });
      if (match) {
        s = f.series.erase(s); // its slot in the store stays: references to it remain valid
        ++gone;
      } else {
        ++s;
      }
    }
  return gone;
}

std::string escape_label_value(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

namespace {

std::string format_value(double v) {
  if (std::isnan(v))
    return "NaN";
  if (std::isinf(v))
    return v > 0 ? "+Inf" : "-Inf";
  // The shortest text that reads back as the same double.
  char buf[32];
  for (int precision = 6; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v)
      break;
  }
  return buf;
}

std::string label_text(const metric_labels& labels, const std::string& extra_key = {},
                       const std::string& extra_value = {}) {
  if (labels.empty() && extra_key.empty())
    return "";
  std::string out = "{";
  bool first = true;
  for (auto& [k, v] : labels) {
    out += (first ? "" : ",") + k + "=\"" + escape_label_value(v) + "\"";
    first = false;
  }
  if (!extra_key.empty())
    out += (first ? "" : ",") + extra_key + "=\"" + extra_value + "\"";
  return out + "}";
}

std::string escape_help(const std::string& h) {
  std::string out;
  for (char c : h) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

} // namespace

std::vector<std::pair<metric_labels, uint64_t>> metrics_registry::counter_values(const std::string& name) const {
  std::shared_lock<std::shared_mutex> read{mtx_};
  std::vector<std::pair<metric_labels, uint64_t>> out;
  auto f = families_.find(name);
  if (f == families_.end() || f->second.type != kind::counter)
    return out;
  for (auto& [labels, index] : f->second.series)
    out.emplace_back(labels, counters_[index].value());
  return out;
}

std::pair<std::vector<double>, std::vector<uint64_t>> metrics_registry::histogram_totals(const std::string& name) const {
  std::shared_lock<std::shared_mutex> read{mtx_};
  auto f = families_.find(name);
  if (f == families_.end() || f->second.type != kind::histogram)
    return {};
  std::vector<uint64_t> total(f->second.bounds.size() + 1, 0);
  for (auto& [labels, index] : f->second.series) {
    auto cum = histograms_[index].cumulative();
    for (size_t i = 0; i < cum.size() && i < total.size(); ++i)
      total[i] += cum[i];
  }
  return {f->second.bounds, total};
}

std::string metrics_registry::render() const {
  std::shared_lock<std::shared_mutex> read{mtx_};
  std::string out;
  for (auto& [name, f] : families_) {
    const char* type = f.type == kind::counter ? "counter" : f.type == kind::gauge ? "gauge" : "histogram";
    out += "# HELP " + name + " " + escape_help(f.help) + "\n# TYPE " + name + " " + type + "\n";
    for (auto& [labels, index] : f.series) {
      switch (f.type) {
        case kind::counter:
          out += name + label_text(labels) + " " + std::to_string(counters_[index].value()) + "\n";
          break;
        case kind::gauge:
          out += name + label_text(labels) + " " + format_value(gauges_[index].value()) + "\n";
          break;
        case kind::histogram: {
          auto& h = histograms_[index];
          auto cum = h.cumulative();
          for (size_t i = 0; i < h.bounds().size(); ++i)
            out += name + "_bucket" + label_text(labels, "le", format_value(h.bounds()[i])) + " "
                   + std::to_string(cum[i]) + "\n";
          out += name + "_bucket" + label_text(labels, "le", "+Inf") + " " + std::to_string(cum.back()) + "\n";
          out += name + "_sum" + label_text(labels) + " " + format_value(h.sum()) + "\n";
          out += name + "_count" + label_text(labels) + " " + std::to_string(cum.back()) + "\n"; // = the +Inf bucket
          break;
        }
      }
    }
  }
  return out;
}

} // namespace cafmcp::metrics
