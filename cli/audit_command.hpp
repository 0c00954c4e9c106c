#pragma once

// `cafmcp audit verify FILE`: checks an audit log's hash chain.

#include <string>

namespace cafmcp::cli {

/// 0: the chain is intact; 1: a line breaks it (named on stderr); 2: the
/// file cannot be read.
int run_audit_verify(const std::string& file);

} // namespace cafmcp::cli
