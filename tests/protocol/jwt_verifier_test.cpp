// JWT access tokens: which are accepted, and what a refusal says.

#include <doctest/doctest.h>

#include "protocol/jwt_verifier.hpp"
#include "tests/support/jwt_issuer.hpp"

using namespace cafmcp::protocol;
using cafmcp::test::epoch_s;
using cafmcp::test::jwt_issuer;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

const std::string iss = "https://id.example.com/";
const std::string aud = "http://127.0.0.1:8080/mcp";

const jwt_issuer& issuer() {
  static jwt_issuer i; // key generation is slow: once for all cases
  return i;
}

jwt_settings settings() {
  jwt_settings s;
  s.issuer = iss;
  s.keys = parse_jwks(issuer().jwks());
  return s;
}

std::string refusal(const std::string& token, const jwt_settings& s = settings()) {
  auto v = verify_jwt(s, token, aud, epoch_s());
  CHECK_FALSE(v.claims);
  return v.error;
}

} // namespace

TEST_CASE("an RS256 token from the issuer for this resource acts for its subject with its scopes") {
  auto v = verify_jwt(settings(), issuer().sign(jwt_issuer::claims(iss, aud, "ann", "tools:call sessions:write")), aud, epoch_s());
  REQUIRE(v.claims);
  CHECK(v.claims->subject == "ann");
  CHECK(v.claims->scopes == std::vector<std::string>{"tools:call", "sessions:write"});
  CHECK(v.claims->tenant.empty());
}

TEST_CASE("an ES256 token is accepted, with scopes as an scp array and an audience list naming this resource") {
  auto c = jwt_issuer::claims(iss, aud, "bob");
  c["aud"] = json::array({"https://other.example.com", aud});
  c["scp"] = json::array({"tools:call"});
  auto v = verify_jwt(settings(), issuer().sign(c, "ES256"), aud, epoch_s());
  REQUIRE(v.claims);
  CHECK(v.claims->scopes == std::vector<std::string>{"tools:call"});
}

TEST_CASE("an expired token is refused past the leeway and accepted within it") {
  auto c = jwt_issuer::claims(iss, aud, "ann");
  c["exp"] = epoch_s(-120s);
  CHECK(refusal(issuer().sign(c)) == "the token has expired");
  c["exp"] = epoch_s(-30s); // within the default 60 s
  CHECK(verify_jwt(settings(), issuer().sign(c), aud, epoch_s()).claims);
  auto strict = settings();
  strict.leeway = 0s;
  CHECK(refusal(issuer().sign(c), strict) == "the token has expired");
}

TEST_CASE("a token for another audience, from another issuer, not valid yet or without expiry is refused, saying which") {
  CHECK(refusal(issuer().sign(jwt_issuer::claims(iss, "https://other.example.com/mcp", "ann")))
        == "the token's audience is not " + aud);
  CHECK(refusal(issuer().sign(jwt_issuer::claims("https://evil.example.com/", aud, "ann")))
        == "the token's issuer is not " + iss);
  auto early = jwt_issuer::claims(iss, aud, "ann");
  early["nbf"] = epoch_s(600s);
  CHECK(refusal(issuer().sign(early)) == "the token is not valid yet (nbf)");
  auto forever = jwt_issuer::claims(iss, aud, "ann");
  forever.erase("exp");
  CHECK(refusal(issuer().sign(forever)) == "the token has no expiry (exp)");
  auto nobody = jwt_issuer::claims(iss, aud, "ann");
  nobody.erase("sub");
  CHECK(refusal(issuer().sign(nobody)) == "the token has no subject (sub)");
}

TEST_CASE("a forged token is refused - another key, a changed payload, an algorithm other than its key's, none") {
  jwt_issuer stranger; // its own keys, same kids
  CHECK(refusal(stranger.sign(jwt_issuer::claims(iss, aud, "ann"))).find("signature") != std::string::npos);
  auto token = issuer().sign(jwt_issuer::claims(iss, aud, "ann"));
  auto parts_end = token.find('.');
  auto tampered = token.substr(0, parts_end + 1)
                  + cafmcp::test::base64url(jwt_issuer::claims(iss, aud, "root").dump())
                  + token.substr(token.rfind('.'));
  CHECK_FALSE(verify_jwt(settings(), tampered, aud, epoch_s()).claims);
  CHECK(refusal(issuer().sign(jwt_issuer::claims(iss, aud, "ann"), "ES256", "ES256", "rsa-1"))
        == "the token is signed with ES256; its key is for RS256");
  CHECK(refusal(issuer().sign(jwt_issuer::claims(iss, aud, "ann"), "RS256", "none"))
        == "the token is signed with none; its key is for RS256");
  CHECK(refusal(issuer().sign(jwt_issuer::claims(iss, aud, "ann"), "RS256", "RS256", "rsa-9"))
        == "no key with kid \"rsa-9\" in the JWKS");
  CHECK(refusal("not.a-jwt") == "the token is not a JWT (three base64url parts)");
}

TEST_CASE("with a tenant claim configured a token names its tenant or is refused") {
  auto s = settings();
  s.tenant_claim = "org";
  auto c = jwt_issuer::claims(iss, aud, "ann");
  CHECK(refusal(issuer().sign(c), s) == "the token has no tenant (org)");
  c["org"] = "acme";
  auto v = verify_jwt(s, issuer().sign(c), aud, epoch_s());
  REQUIRE(v.claims);
  CHECK(v.claims->tenant == "acme");
}

TEST_CASE("a JWKS document is read for its RS256 and ES256 signing keys - anything unusable is refused, naming it") {
  auto keys = parse_jwks(issuer().jwks());
  REQUIRE(keys.size() == 2);
  CHECK(keys[0].kid == "rsa-1");
  CHECK(keys[0].alg == "RS256");
  CHECK(keys[1].alg == "ES256");
  CHECK(keys[0].pem.rfind("-----BEGIN PUBLIC KEY-----", 0) == 0);
  CHECK_THROWS_WITH_AS(parse_jwks("[]"), doctest::Contains("not a JWKS document"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(parse_jwks(R"({"keys": []})"), doctest::Contains("holds no RS256"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(parse_jwks(R"({"keys": [{"kty": "RSA", "n": "AQAB"}]})"), doctest::Contains("keys[0] has no \"e\""),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(parse_jwks(R"({"keys": [{"kty": "RSA", "n": "AQAB", "e": "AQAB"}]})"),
                       doctest::Contains("under 2048 bits"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(parse_jwks(R"({"keys": [{"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"}]})"),
                       doctest::Contains("only the P-256 curve"), std::invalid_argument);
  // An encryption key and an Ed25519 key are not ours to use: skipped.
  auto doc = json::parse(issuer().jwks());
  doc["keys"].push_back({{"kty", "RSA"}, {"use", "enc"}, {"n", "AQAB"}, {"e", "AQAB"}});
  doc["keys"].push_back({{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", "AA"}});
  CHECK(parse_jwks(doc.dump()).size() == 2);
}

TEST_CASE("an expiry or not-before too large for a date is taken as the far future, not cast out of range") {
  auto c = jwt_issuer::claims(iss, aud, "ann");
  c["exp"] = 1.8e26; // found by jwt_fuzzer: a double beyond int64_t
  CHECK(verify_jwt(settings(), issuer().sign(c), aud, epoch_s()).claims);
  c["nbf"] = 1.8e26;
  CHECK(refusal(issuer().sign(c)) == "the token is not valid yet (nbf)");
  c.erase("nbf");
  c["exp"] = -1.8e26;
  CHECK(refusal(issuer().sign(c)) == "the token has expired");
}

TEST_CASE("a kid or a key member of another JSON type than string is refused, not thrown past the checks") {
  // Found by jwt_fuzzer: json::value threw a type_error out of verify_jwt,
  // which on the HTTP I/O thread would have ended the process.
  auto claims = jwt_issuer::claims(iss, aud, "ann").dump();
  CHECK(refusal(issuer().sign_raw(R"({"alg": "RS256", "kid": 30054646800030})", claims, "RS256"))
        == "the token's kid is not a string");
  CHECK_THROWS_WITH_AS(parse_jwks(R"({"keys": [{"kty": "RSA", "kid": 7, "n": "AQAB", "e": "AQAB"}]})"),
                       doctest::Contains("keys[0]: \"kid\" is not a string"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(parse_jwks(R"({"keys": [{"kty": ["RSA"]}]})"), doctest::Contains("\"kty\" is not a string"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(parse_jwks(R"({"keys": [{"kty": "EC", "crv": 256, "x": "AA", "y": "AA"}]})"),
                       doctest::Contains("\"crv\" is not a string"), std::invalid_argument);
}
