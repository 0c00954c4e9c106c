// libFuzzer target: whatever a client puts in its bearer token, and
// whatever a JWKS file holds, verifying must not crash, hang or leak, and
// only a token the test issuer signed may pass. The first byte picks what
// the rest is: a raw token (0), a JWKS document (1), or a header and a
// payload (split at the first newline) that the test issuer signs, so the
// claim checks behind the signature are fuzzed too (2, 3).
// Build and run: bash tests/fuzz/run.sh [seconds] jwt_fuzzer

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "protocol/jwt_verifier.hpp"
#include "tests/support/jwt_issuer.hpp"

using namespace cafmcp;

namespace {

const test::jwt_issuer& idp() {
  static test::jwt_issuer i;
  return i;
}

const protocol::jwt_settings& settings() {
  static protocol::jwt_settings s = [] {
    protocol::jwt_settings x;
    x.issuer = "https://id.test/";
    x.tenant_claim = "org";
    x.keys = protocol::parse_jwks(idp().jwks());
    return x;
  }();
  return s;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  auto mode = data[0] & 3;
  std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const int64_t now = 1'800'000'000;
  switch (mode) {
    case 0: {
      // Not signed by the issuer's keys: never accepted.
      if (protocol::verify_jwt(settings(), text, "https://mcp.test/mcp", now).claims)
        std::abort();
      break;
    }
    case 1:
      try {
        protocol::parse_jwks(text);
      } catch (const std::invalid_argument&) {
      }
      break;
    default: {
      auto nl = text.find('\n');
      auto header = text.substr(0, nl);
      auto payload = nl == std::string::npos ? std::string{} : text.substr(nl + 1);
      auto token = idp().sign_raw(header, payload, mode == 2 ? "RS256" : "ES256");
      auto v = protocol::verify_jwt(settings(), token, "https://mcp.test/mcp", now);
      // Accepted only with everything a valid token needs.
      if (v.claims && (v.claims->subject.empty() || v.claims->tenant.empty()))
        std::abort();
      break;
    }
  }
  return 0;
}
