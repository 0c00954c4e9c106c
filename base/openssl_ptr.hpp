#pragma once
// OpenSSL objects owned by std::unique_ptr, freed with their own free function.

#include <memory>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>

namespace cafmcp::ossl {

template <class T, void (*Free)(T*)>
struct deleter {
  void operator()(T* p) const { Free(p); }
};

/// An OpenSSL object of type T, freed by Free.
template <class T, void (*Free)(T*)>
using ptr = std::unique_ptr<T, deleter<T, Free>>;

using pkey_ptr = ptr<EVP_PKEY, EVP_PKEY_free>;
using bio_ptr = ptr<BIO, BIO_free_all>;
using md_ctx_ptr = ptr<EVP_MD_CTX, EVP_MD_CTX_free>;
using bn_ptr = ptr<BIGNUM, BN_free>;

} // namespace cafmcp::ossl
