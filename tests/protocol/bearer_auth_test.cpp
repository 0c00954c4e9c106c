// Bearer authorisation of the MCP endpoint: static tokens by hash, what a refusal says, where the metadata is.

#include <doctest/doctest.h>

#include <stdexcept>

#include "base/crypto.hpp"
#include "protocol/bearer_auth.hpp"

using namespace cafmcp;
using namespace cafmcp::protocol;

namespace {

auth_config with_token(const std::string& token) {
  auth_config cfg;
  cfg.enabled = true;
  cfg.static_tokens.push_back(parse_static_token("sha256:" + crypto::sha256_hex(token) + " subject=ann scopes=a,b tenant=t1"));
  return cfg;
}

} // namespace

TEST_CASE("a static token's config entry names its hash and subject - anything else is refused, naming the part") {
  auto t = parse_static_token("sha256:" + std::string(64, 'A') + " subject=ci scopes=tools:call");
  CHECK(t.sha256 == std::string(64, 'a'));
  CHECK(t.subject == "ci");
  CHECK(t.scopes == std::vector<std::string>{"tools:call"});
  CHECK(t.tenant.empty());
  CHECK_THROWS_WITH_AS(parse_static_token("subject=ci"), doctest::Contains("missing sha256"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(parse_static_token("sha256:abc subject=ci"), doctest::Contains("64 hex digits"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(parse_static_token("sha256:" + std::string(64, 'a')), doctest::Contains("missing subject"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(parse_static_token("sha256:" + std::string(64, 'a') + " subject=x role=admin"),
                       doctest::Contains("unknown part \"role=admin\""), std::invalid_argument);
}

TEST_CASE("a tool scope's config entry is TOOL=SCOPE - anything else is refused, quoting the entry") {
  CHECK(parse_tool_scope("session_set=sessions:write")
        == std::pair<std::string, std::string>{"session_set", "sessions:write"});
  CHECK(parse_tool_scope("a=b=c") == std::pair<std::string, std::string>{"a", "b=c"});
  for (auto bad : {"session_set", "=sessions:write", "session_set="}) {
    auto want = "must be TOOL=SCOPE, got \"" + std::string{bad} + "\"";
    CHECK_THROWS_WITH_AS(parse_tool_scope(bad), want.c_str(), std::invalid_argument);
  }
}

TEST_CASE("a request without a token is challenged, an unknown token is invalid_token, a known one acts for its subject") {
  auto cfg = with_token("tok-123");
  auto resource = std::string{"http://127.0.0.1:8080/mcp"};
  auto url = std::string{"http://127.0.0.1:8080/.well-known/oauth-protected-resource/mcp"};
  auto none = authenticate(cfg, "", resource);
  CHECK_FALSE(none.who);
  CHECK(none.www_authenticate == "Bearer resource_metadata=\"" + url + "\"");
  auto basic = authenticate(cfg, "Basic dG9rLTEyMw==", resource);
  CHECK_FALSE(basic.who);
  auto wrong = authenticate(cfg, "Bearer tok-124", resource);
  CHECK_FALSE(wrong.who);
  CHECK(wrong.www_authenticate.find("error=\"invalid_token\"") != std::string::npos);
  auto right = authenticate(cfg, "Bearer tok-123", resource);
  REQUIRE(right.who);
  CHECK(right.who->subject == "ann");
  CHECK(right.who->scopes == std::vector<std::string>{"a", "b"});
  CHECK(right.who->tenant == "t1");
  CHECK(authenticate(cfg, "bearer tok-123", resource).who); // the scheme is case-insensitive (RFC 7235)
}

TEST_CASE("the protected resource metadata sits at the well-known path followed by the resource's path") {
  auth_config cfg;
  cfg.authorization_servers = {"https://id.example.com"};
  auto resource = resource_uri(cfg, "127.0.0.1:8080", "/mcp");
  CHECK(resource == "http://127.0.0.1:8080/mcp");
  CHECK(metadata_path(resource) == "/.well-known/oauth-protected-resource/mcp");
  CHECK(metadata_url(resource) == "http://127.0.0.1:8080/.well-known/oauth-protected-resource/mcp");
  cfg.resource = "https://mcp.example.com";
  CHECK(metadata_url(resource_uri(cfg, "ignored", "/mcp")) == "https://mcp.example.com/.well-known/oauth-protected-resource");
  auto doc = protected_resource_metadata(cfg, "https://mcp.example.com");
  CHECK(doc["resource"] == "https://mcp.example.com");
  CHECK(doc["authorization_servers"][0] == "https://id.example.com");
  CHECK(doc["bearer_methods_supported"][0] == "header");
}

TEST_CASE("a tool's scope, declared by the tool or set by the operator, must be among the token's scopes") {
  auth_config cfg;
  principal ann{"ann", {"tools:read"}, ""};
  CHECK(lacking_scope(cfg, ann, "echo", "").empty());              // no scope needed
  CHECK(lacking_scope(cfg, ann, "reader", "tools:read").empty());  // carried
  CHECK(lacking_scope(cfg, ann, "writer", "tools:write") == "tools:write");
  cfg.tool_scopes["echo"] = "admin";                               // the operator's word wins
  CHECK(lacking_scope(cfg, ann, "echo", "") == "admin");
  cfg.tool_scopes["writer"] = "tools:read";
  CHECK(lacking_scope(cfg, ann, "writer", "tools:write").empty());
  CHECK(insufficient_scope_challenge("http://h/.well-known/oauth-protected-resource", "admin")
        == R"(Bearer resource_metadata="http://h/.well-known/oauth-protected-resource", error="insufficient_scope", scope="admin")");
}

TEST_CASE("the first tools/call whose scope the token lacks is found in a message or anywhere in a batch") {
  auth_config cfg;
  cfg.tool_scopes["add"] = "math";
  principal ann{"ann", {"tools:read"}, ""};
  auto declared = [](const std::string& tool) { return tool == "writer" ? std::string{"tools:write"} : std::string{}; };
  auto call = [](int id, const std::string& tool) {
    return nlohmann::json{{"jsonrpc", "2.0"}, {"id", id}, {"method", "tools/call"}, {"params", {{"name", tool}}}};
  };
  CHECK_FALSE(find_lacking_scope(cfg, ann, call(1, "echo"), declared));
  auto single = find_lacking_scope(cfg, ann, call(1, "add"), declared);
  REQUIRE(single);
  CHECK(single->id == 1);
  CHECK(single->scope == "math");
  CHECK(single->message == "the bearer token of ann lacks the scope \"math\" that tool add needs");
  auto batch = nlohmann::json::array({nlohmann::json{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "ping"}}, call(2, "echo"),
                                      call(3, "writer"), call(4, "add")});
  auto first = find_lacking_scope(cfg, ann, batch, declared);
  REQUIRE(first);
  CHECK(first->id == 3);
  CHECK(first->tool == "writer");
  // Not a tools/call, or one without a tool name: nothing to refuse here.
  CHECK_FALSE(find_lacking_scope(cfg, ann, nlohmann::json{{"method", "tools/call"}, {"params", {{"name", 5}}}}, declared));
  CHECK_FALSE(find_lacking_scope(cfg, ann, nlohmann::json{{"method", "tools/list"}}, declared));
}
