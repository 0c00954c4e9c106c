#pragma once

// Durations as operators read them in logs and tables.

#include <chrono>
#include <string>

namespace cafmcp {

/// Seconds with one decimal, rounded up so a wait is never understated ("29.9 s").
inline std::string seconds_text(std::chrono::milliseconds d) {
  auto tenths = (d.count() + 99) / 100;
  return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " s";
}

} // namespace cafmcp
