#pragma once
// A workaround for caf_openssl 0.17: OpenSSL's per-thread error queue is cleared before each TLS read, write and handshake.

namespace cafmcp::cluster {

/// Whether the workaround is in place (the real OpenSSL functions were
/// found). Calling it also links the workaround into the binary.
bool openssl_error_queue_cleared();

} // namespace cafmcp::cluster
