#pragma once

// The audit key: the node's secret that keys the audit log's HMAC chain, in a
// file of its own (64 hex digits: 32 random bytes), so that whoever can
// rewrite the log but not read the key cannot forge a chain that verifies.

#include <string>

namespace cafmcp::audit {

/// The key in `path`, as its 32 bytes. A missing file is created first
/// (32 random bytes, mode 0600) when `create` is set. Throws
/// std::runtime_error naming the file when it cannot be created or read, is
/// empty, does not hold 64 hex digits, or is accessible by group or others.
std::string load_audit_key(const std::string& path, bool create);

} // namespace cafmcp::audit
