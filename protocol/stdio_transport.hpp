#pragma once

// MCP over stdio: newline-delimited JSON-RPC on a pair of file descriptors.
// Every line is validated on its own (version checked per request, a
// malformed line gets -32700). Logs never go to stdout.

#include <cstddef>
#include <memory>

namespace cafmcp::protocol {

class endpoint;

/// Serves `ep` on `in_fd`/`out_fd` until `in_fd` reaches end of file, then
/// cancels the calls still running and returns. Blocks the calling thread:
/// run it on an I/O thread, never on an actor. A line longer than
/// `max_message` bytes is discarded as it arrives (never buffered whole)
/// and answered with a -32600 error.
void serve_stdio(const std::shared_ptr<endpoint>& ep, int in_fd, int out_fd, size_t max_message);

} // namespace cafmcp::protocol
