#pragma once
// What the shell's command files share: the call timeout and small text helpers.

#include <chrono>
#include <string>
#include <vector>

namespace cafmcp::cli::detail {

inline constexpr std::chrono::milliseconds shell_call_timeout{10000};

inline std::string join(const std::vector<std::string>& xs, const std::string& sep) {
  std::string out;
  for (auto& x : xs)
    out += (out.empty() ? "" : sep) + x;
  return out;
}

} // namespace cafmcp::cli::detail
