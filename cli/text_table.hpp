#pragma once

// Plain-text tables for the command line: columns padded to their widest
// cell, two spaces apart, no trailing blanks.

#include <string>
#include <vector>

namespace cafmcp::cli {

/// `rows[0]` is the header.
std::string render_table(const std::vector<std::vector<std::string>>& rows);

} // namespace cafmcp::cli
