// The MCP protocol versions served, by era.
#include "protocol/versions.hpp"

#include <algorithm>

namespace cafmcp::protocol {

const std::vector<std::string>& modern_versions() {
  static const std::vector<std::string> v{"2026-07-28"};
  return v;
}

const std::vector<std::string>& legacy_versions() {
  static const std::vector<std::string> v{"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"};
  return v;
}

const std::vector<std::string>& all_versions() {
  static const std::vector<std::string> v = [] {
    auto out = modern_versions();
    for (auto& x : legacy_versions())
      out.push_back(x);
    return out;
  }();
  return v;
}

bool is_modern(std::string_view v) {
  auto& m = modern_versions();
  return std::find(m.begin(), m.end(), v) != m.end();
}

bool is_legacy(std::string_view v) {
  auto& l = legacy_versions();
  return std::find(l.begin(), l.end(), v) != l.end();
}

bool allows_batch(std::string_view legacy_version) {
  return legacy_version == "2025-03-26";
}

} // namespace cafmcp::protocol
