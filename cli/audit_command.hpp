#pragma once

// `cafmcp audit verify FILE [--key KEYFILE]`: checks an audit log's keyed chain.

#include <string>

namespace cafmcp::cli {

/// Checks `file` under the audit key in `key_file` (the node's
/// admin.audit_key_file). 0: the chain is intact; 1: a line breaks it (its
/// number and why on stderr); 2: the file or the key cannot be read (without
/// the key the chain cannot be checked).
int run_audit_verify(const std::string& file, const std::string& key_file);

} // namespace cafmcp::cli
