// A workaround for caf_openssl 0.17: OpenSSL's per-thread error queue is cleared before each TLS read, write and handshake.
//
// caf_openssl asks SSL_get_error after an I/O call without clearing the
// thread's error queue first, so an error left by one connection (a client
// that went away without close_notify) is read as the error of the next
// connection served on that thread, which is then closed too: one client's
// exit dropped every member-to-member connection of the node, and the drops
// spread to its peers (measured 2026-12-02: plain BASP, no drops; TLS, all
// links lost within 200 ms of a `cafmcp status` exiting). OpenSSL's own
// advice is to clear the queue before these calls; caf_openssl calls them
// through the dynamic linker, so these definitions take their place and call
// the real ones.

#include <dlfcn.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "cluster/openssl_error_queue.hpp"

namespace {

template <class F>
F real(const char* name) {
  return reinterpret_cast<F>(::dlsym(RTLD_NEXT, name));
}

} // namespace

extern "C" {

int SSL_read(SSL* ssl, void* buf, int num) {
  static auto next = real<int (*)(SSL*, void*, int)>("SSL_read");
  ERR_clear_error();
  return next(ssl, buf, num);
}

int SSL_write(SSL* ssl, const void* buf, int num) {
  static auto next = real<int (*)(SSL*, const void*, int)>("SSL_write");
  ERR_clear_error();
  return next(ssl, buf, num);
}

int SSL_accept(SSL* ssl) {
  static auto next = real<int (*)(SSL*)>("SSL_accept");
  ERR_clear_error();
  return next(ssl);
}

int SSL_connect(SSL* ssl) {
  static auto next = real<int (*)(SSL*)>("SSL_connect");
  ERR_clear_error();
  return next(ssl);
}

} // extern "C"

namespace cafmcp::cluster {

bool openssl_error_queue_cleared() {
  return real<void*>("SSL_read") != nullptr;
}

} // namespace cafmcp::cluster
