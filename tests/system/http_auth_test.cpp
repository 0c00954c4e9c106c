// The MCP endpoint with bearer authorisation (mcp.auth): the real binary,
// static tokens made by `cafmcp token create`, JWTs signed by a test issuer.

#include <csignal>
#include <memory>
#include <mutex>
#include <regex>
#include <set>
#include <thread>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "tests/support/http_client.hpp"
#include "tests/support/jwt_issuer.hpp"
#include "tests/support/mcp_call.hpp"
#include "tests/support/node_ready.hpp"
#include "tests/support/process.hpp"
#include "tests/support/stub_http_server.hpp"

using namespace cafmcp::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const std::string binary = CAFMCP_BINARY;
using headers = std::vector<std::pair<std::string, std::string>>;

/// A token from `cafmcp token create` and its config entry.
struct made_token {
  std::string token;
  std::string entry; // a JSON string
};

made_token make_token(const std::string& subject, const std::string& tenant = {}) {
  std::vector<std::string> args{binary, "token", "create", "--subject", subject};
  if (!tenant.empty())
    args.insert(args.end(), {"--tenant", tenant});
  auto r = run(args);
  REQUIRE(r.code == 0);
  std::smatch m;
  REQUIRE(std::regex_search(r.out, m, std::regex{R"(shown only now\):\n  (\S+)\n[^\n]*\n  ("sha256:[^\n]+"))"}));
  return {m[1], m[2]};
}

struct auth_node {
  temp_dir dir;
  std::unique_ptr<process> proc;
  uint16_t port = 0;
  uint16_t web = 0; // the observability port

  explicit auth_node(const std::string& config) {
    proc = std::make_unique<process>(std::vector<std::string>{binary, "node", "--http-port", "0", "--metrics-port",
                                                              "0", "--config", dir.write("node.json", config)},
                                     dir.path());
    auto ready = wait_ready(*proc);
    REQUIRE(ready);
    port = ready->mcp_port;
    web = ready->web_port;
  }
  ~auth_node() {
    proc->signal(SIGTERM);
    CHECK(proc->wait_exit(20s) == 0);
  }

  http_reply post(const json& body, headers extra) {
    headers h{{"Content-Type", "application/json"}, {"Accept", "application/json, text/event-stream"}};
    h.insert(h.end(), extra.begin(), extra.end());
    return http_request(port, "POST", "/mcp", h, body.dump());
  }

  /// A legacy session started with `extra` headers: `extra` plus what its
  /// later requests send (its id and version).
  headers legacy_session(headers extra) {
    auto init = post(json{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "initialize"},
                          {"params", {{"protocolVersion", "2025-06-18"}, {"capabilities", json::object()},
                                      {"clientInfo", {{"name", "t"}, {"version", "1"}}}}}},
                     extra);
    REQUIRE(init.status == 200);
    auto sid = init.headers["mcp-session-id"];
    REQUIRE(!sid.empty());
    extra.push_back({"Mcp-Session-Id", sid});
    extra.push_back({"MCP-Protocol-Version", "2025-06-18"});
    return extra;
  }

  /// A modern tools/call of `tool` with `extra` headers (e.g. Authorization).
  http_reply call(const std::string& tool, const json& args, headers extra) {
    extra.push_back({"MCP-Protocol-Version", "2026-07-28"});
    extra.push_back({"Mcp-Method", "tools/call"});
    extra.push_back({"Mcp-Name", tool});
    return post(mcp_tool_call_body(tool, args), extra);
  }

  http_reply echo(headers extra) { return call("echo", {{"text", "hi"}}, std::move(extra)); }

  /// A modern call of `add` (1 + 2) under `token`.
  http_reply add(const std::string& token) {
    return call("add", {{"a", 1}, {"b", 2}}, {{"Authorization", "Bearer " + token}});
  }
};

} // namespace

TEST_CASE("with mcp.auth a request needs a known bearer token: 401 points to the resource metadata") {
  auto ann = make_token("ann");
  auth_node node{R"({"mcp": {"auth": {"enabled": true, "authorization_servers": ["https://id.example.com"],
                    "static_tokens": [)" + ann.entry + R"(]}}})"};
  auto bare = node.echo({});
  CHECK(bare.status == 401);
  // Without mcp.auth.resource the resource is named after the Host header (the test client sends 127.0.0.1).
  auto metadata_url = std::string{"http://127.0.0.1/.well-known/oauth-protected-resource/mcp"};
  CHECK(bare.headers["www-authenticate"] == "Bearer resource_metadata=\"" + metadata_url + "\"");
  auto metadata = http_request(node.port, "GET", "/.well-known/oauth-protected-resource/mcp", {});
  CHECK(metadata.status == 200);
  auto doc = json::parse(metadata.body, nullptr, false);
  CHECK(doc["resource"] == "http://127.0.0.1/mcp");
  CHECK(doc["authorization_servers"][0] == "https://id.example.com");
  auto wrong = node.echo({{"Authorization", "Bearer " + ann.token + "x"}});
  CHECK(wrong.status == 401);
  CHECK(wrong.headers["www-authenticate"].find("error=\"invalid_token\"") != std::string::npos);
  auto right = node.echo({{"Authorization", "Bearer " + ann.token}});
  CHECK(right.status == 200);
  CHECK(json::parse(right.body)["result"]["content"][0]["text"] == "hi");
}

TEST_CASE("a legacy session started under one token is not found under another (404), only under its own") {
  auto ann = make_token("ann");
  auto bob = make_token("bob");
  auth_node node{R"({"mcp": {"auth": {"enabled": true, "static_tokens": [)" + ann.entry + "," + bob.entry + "]}}}"};
  headers as_ann{{"Authorization", "Bearer " + ann.token}};
  headers as_bob{{"Authorization", "Bearer " + bob.token}};
  auto ann_session = node.legacy_session(as_ann);
  auto bob_session = ann_session; // ann's id, under bob's token
  bob_session[0] = as_bob[0];
  json ping{{"jsonrpc", "2.0"}, {"id", 2}, {"method", "ping"}};
  CHECK(node.post(ping, bob_session).status == 404);
  CHECK(http_request(node.port, "DELETE", "/mcp", bob_session).status == 404);
  CHECK(node.post(ping, ann_session).status == 200);
}

TEST_CASE("a token without the scope a tool needs gets 403 insufficient_scope naming it - in a batch too") {
  auto reader = make_token("reader");
  auto adder = run({binary, "token", "create", "--subject", "adder", "--scopes", "math,other"});
  REQUIRE(adder.code == 0);
  std::smatch m;
  REQUIRE(std::regex_search(adder.out, m, std::regex{R"(shown only now\):\n  (\S+)\n[^\n]*\n  ("sha256:[^\n]+"))"}));
  std::string adder_token = m[1], adder_entry = m[2];
  auth_node node{R"({"mcp": {"auth": {"enabled": true, "tool_scopes": ["add=math"], "static_tokens": [)"
                 + reader.entry + "," + adder_entry + "]}}}"};
  auto add = [&](const std::string& token) { return node.add(token); };
  auto refused = add(reader.token);
  CHECK(refused.status == 403);
  CHECK(refused.headers["www-authenticate"].find(R"(error="insufficient_scope", scope="math")") != std::string::npos);
  CHECK(json::parse(refused.body)["error"]["data"]["scope"] == "math");
  CHECK(add(adder_token).status == 200);
  CHECK(node.echo({{"Authorization", "Bearer " + reader.token}}).status == 200); // echo needs no scope
  // A 2025-03-26 batch cannot carry the call past the check.
  json init{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "initialize"},
            {"params", {{"protocolVersion", "2025-03-26"}, {"capabilities", json::object()},
                        {"clientInfo", {{"name", "t"}, {"version", "1"}}}}}};
  headers as_reader{{"Authorization", "Bearer " + reader.token}};
  auto started = node.post(init, as_reader);
  REQUIRE(started.status == 200);
  as_reader.push_back({"Mcp-Session-Id", started.headers["mcp-session-id"]});
  json batch = json::array({json{{"jsonrpc", "2.0"}, {"id", 2}, {"method", "ping"}},
                            json{{"jsonrpc", "2.0"}, {"id", 3}, {"method", "tools/call"},
                                 {"params", {{"name", "add"}, {"arguments", {{"a", 1}, {"b", 2}}}}}}});
  CHECK(node.post(batch, as_reader).status == 403);
}

TEST_CASE("a malformed mcp.auth.static_tokens entry, or auth without a token, stops the start naming the key") {
  temp_dir dir;
  auto bad = run({binary, "node", "--http-port", "0", "--metrics-port", "0", "--config",
                  dir.write("a.json", R"({"mcp": {"auth": {"static_tokens": ["sha256:abc subject=x"]}}})")});
  CHECK(bad.code == 2);
  CHECK(bad.err.find("mcp.auth.static_tokens[0]") != std::string::npos);
  CHECK(bad.err.find("64 hex digits") != std::string::npos);
  auto empty = run({binary, "node", "--http-port", "0", "--metrics-port", "0", "--config",
                    dir.write("b.json", R"({"mcp": {"auth": {"enabled": true}}})")});
  CHECK(empty.code == 2);
  CHECK(empty.err.find("cafmcp token create") != std::string::npos);
}

namespace {

/// A node that takes JWTs from `idp` (issuer https://id.test/, resource
/// https://mcp.test/mcp), and where a call of `add` needs the scope "math".
struct jwt_node {
  const std::string iss = "https://id.test/";
  const std::string resource = "https://mcp.test/mcp";
  temp_dir keys;
  auth_node node;

  explicit jwt_node(const jwt_issuer& idp)
      : node{json{{"mcp", {{"auth", {{"enabled", true}, {"resource", "https://mcp.test/mcp"},
                                     {"tool_scopes", {"add=math"}},
                                     {"jwt", {{"jwks_file", keys.write("jwks.json", idp.jwks())},
                                              {"issuer", "https://id.test/"}, {"tenant_claim", "org"}}}}}}}}
               .dump()} {}

  http_reply add(const std::string& token) { return node.add(token); }
};

/// The 401's error_description, checking that it is an invalid_token refusal.
std::string refused_because(const http_reply& r) {
  CHECK(r.status == 401);
  auto challenge = r.headers.count("www-authenticate") ? r.headers.at("www-authenticate") : std::string{};
  CHECK(challenge.find(R"(resource_metadata="https://mcp.test/.well-known/oauth-protected-resource/mcp")")
        != std::string::npos);
  CHECK(challenge.find(R"(error="invalid_token")") != std::string::npos);
  std::smatch m;
  return std::regex_search(challenge, m, std::regex{R"re(error_description="([^"]*)")re"}) ? std::string{m[1]} : "";
}

} // namespace

TEST_CASE("JWT access tokens are checked against the provider's JWKS - valid, expired, wrong audience, wrong issuer, bad signature, missing scope") {
  jwt_issuer idp;
  jwt_node n{idp};
  auto with = [&](const json& claims, const std::string& alg = "RS256") { return idp.sign(claims, alg); };
  auto good = jwt_issuer::claims(n.iss, n.resource, "ann", "math");
  good["org"] = "acme";
  CHECK(n.add(with(good)).status == 200);
  CHECK(n.add(with(good, "ES256")).status == 200);
  // The tenant labels a bounded metric.
  auto metrics = http_request(n.node.web, "GET", "/metrics", {}).body;
  CHECK(metrics.find("\ncafmcp_http_authenticated_total{tenant=\"acme\"} 2\n") != std::string::npos);
  auto no_org = good;
  no_org.erase("org");
  CHECK(refused_because(n.add(with(no_org))) == "the token has no tenant (org)");
  auto expired = good;
  expired["exp"] = epoch_s(-600s);
  CHECK(refused_because(n.add(with(expired))) == "the token has expired");
  CHECK(refused_because(n.add(with(jwt_issuer::claims(n.iss, "https://other.test/mcp", "ann", "math"))))
        == "the token's audience is not https://mcp.test/mcp");
  CHECK(refused_because(n.add(with(jwt_issuer::claims("https://evil.test/", n.resource, "ann", "math"))))
        == "the token's issuer is not https://id.test/");
  jwt_issuer stranger; // same kids, other keys
  CHECK(refused_because(n.add(stranger.sign(good))).find("signature") != std::string::npos);
  auto reader = jwt_issuer::claims(n.iss, n.resource, "ann", "tools:call");
  reader["org"] = "acme";
  auto no_math = n.add(with(reader));
  CHECK(no_math.status == 403);
  CHECK(no_math.headers["www-authenticate"].find(R"(error="insufficient_scope", scope="math")") != std::string::npos);
}

TEST_CASE("an unreadable or unusable JWKS file, or one without an issuer, stops the start naming the key") {
  temp_dir dir;
  auto start = [&](const std::string& name, const json& jwt) {
    return run({binary, "node", "--http-port", "0", "--metrics-port", "0", "--config",
                dir.write(name, json{{"mcp", {{"auth", {{"enabled", true}, {"jwt", jwt}}}}}}.dump())});
  };
  auto missing = start("a.json", {{"jwks_file", dir.path() + "/nowhere.json"}, {"issuer", "https://id.test/"}});
  CHECK(missing.code == 2);
  CHECK(missing.err.find("mcp.auth.jwt.jwks_file") != std::string::npos);
  CHECK(missing.err.find("cannot read") != std::string::npos);
  auto junk = start("b.json", {{"jwks_file", dir.write("junk.json", R"({"keys": []})")}, {"issuer", "https://id.test/"}});
  CHECK(junk.code == 2);
  CHECK(junk.err.find("holds no RS256 (RSA) or ES256 (P-256) signing key") != std::string::npos);
  jwt_issuer idp;
  auto no_iss = start("c.json", {{"jwks_file", dir.write("jwks.json", idp.jwks())}});
  CHECK(no_iss.code == 2);
  CHECK(no_iss.err.find("mcp.auth.jwt.issuer") != std::string::npos);
}

namespace {

/// An identity provider's JWKS endpoint on 127.0.0.1 whose document the
/// test changes (a key rotation) or takes down (503).
struct jwks_endpoint {
  std::mutex mtx;
  std::string doc;
  bool down = false;
  stub_http_server server{[this](const stub_request& req) {
    std::lock_guard<std::mutex> guard{mtx};
    if (req.method != "GET" || req.target != "/jwks")
      return stub_response{404, "{}"};
    return down ? stub_response{503, "{}"} : stub_response{200, doc};
  }};

  explicit jwks_endpoint(std::string document) : doc(std::move(document)) {}
  std::string url() const { return server.url("/jwks"); }
  void serve(std::string document, bool is_down = false) {
    std::lock_guard<std::mutex> guard{mtx};
    doc = std::move(document);
    down = is_down;
  }
};

/// A node taking JWTs (issuer https://id.test/, resource https://mcp.test/mcp)
/// whose keys come from `url`, refreshed every `refresh_s`, an early fetch
/// at most once per `least_s`.
auth_node jwks_url_node(const std::string& url, int refresh_s, int least_s) {
  return auth_node{json{{"mcp", {{"auth", {{"enabled", true}, {"resource", "https://mcp.test/mcp"},
                                           {"jwt", {{"jwks_url", url}, {"issuer", "https://id.test/"},
                                                    {"jwks_refresh_s", refresh_s},
                                                    {"jwks_min_refresh_s", least_s}}}}}}}}
                     .dump()};
}

/// Waits for the jwks_fetcher's whole log line `message`.
bool fetcher_logged(process& node, const std::string& level, const std::string& message) {
  auto quoted = std::regex_replace(message, std::regex{R"([.^$|()\[\]{}*+?\\])"}, R"(\$&)");
  return node
    .wait_for_stderr_line(std::regex{R"(\S+ )" + level + R"( +(?:\S+ )?/root/protocol_sup/jwks_fetcher: )" + quoted},
                          20s)
    .has_value();
}

const std::string iss = "https://id.test/";
const std::string resource = "https://mcp.test/mcp";

} // namespace

TEST_CASE("JWT keys come from the provider's JWKS URL - fetched at start, early when a rotated key signs, not for made-up key ids") {
  jwt_issuer idp, rotated{"2"}, stranger{"3"};
  jwks_endpoint provider{idp.jwks()};
  auto n = jwks_url_node(provider.url(), 86400, 3600);
  REQUIRE(fetcher_logged(*n.proc, "info", "JWKS from " + provider.url() + ": 2 key(s): rsa-1 RS256, ec-1 ES256"));
  CHECK(provider.server.requests() == 1);
  auto claims = jwt_issuer::claims(iss, resource, "ann");
  CHECK(n.add(idp.sign(claims)).status == 200);
  CHECK(n.add(idp.sign(claims, "ES256")).status == 200);
  // The provider rotates: its JWKS names the new keys before tokens use them,
  // and the first such token waits for one early fetch instead of a 401.
  auto both = idp.jwk_list();
  for (auto& k : rotated.jwk_list())
    both.push_back(k);
  provider.serve(json{{"keys", both}}.dump());
  CHECK(n.add(rotated.sign(claims)).status == 200);
  CHECK(provider.server.requests() == 2);
  CHECK(n.add(rotated.sign(claims, "ES256")).status == 200);
  CHECK(n.add(idp.sign(claims)).status == 200); // the old keys stay while the JWKS lists them
  CHECK(provider.server.requests() == 2);
  // Another unknown kid within jwks_min_refresh_s is refused without a fetch.
  auto stray = n.add(stranger.sign(claims));
  CHECK(stray.status == 401);
  // (RFC 6750 allows no quotes inside error_description: the kid's are dropped.)
  CHECK(stray.headers["www-authenticate"].find(R"(error_description="no key with kid 3rsa-1 in the JWKS")")
        != std::string::npos);
  CHECK(provider.server.requests() == 2);
  auto metrics = http_request(n.web, "GET", "/metrics", {}).body;
  CHECK(metrics.find("\ncafmcp_jwks_fetches_total{outcome=\"ok\"} 2\n") != std::string::npos);
  CHECK(metrics.find("\ncafmcp_jwks_keys 4\n") != std::string::npos);
}

TEST_CASE("while the JWKS URL fails tokens are refused saying why, the node keeps running, and it serves once the provider answers") {
  jwt_issuer idp;
  jwks_endpoint provider{idp.jwks()};
  provider.serve(idp.jwks(), true);
  auto n = jwks_url_node(provider.url(), 10, 1); // retries after 1, 2, 4, 8, then every 10 s
  REQUIRE(fetcher_logged(*n.proc, "warning",
                         "fetching the JWKS from " + provider.url()
                           + " failed (HTTP 503); tokens are refused until a fetch works; retrying with backoff"));
  auto claims = jwt_issuer::claims(iss, resource, "ann");
  auto refused = n.add(idp.sign(claims));
  CHECK(refused.status == 401);
  CHECK(refused.headers["www-authenticate"].find("error_description=\"the signing keys from " + provider.url()
                                                 + " are not available yet (HTTP 503)\"")
        != std::string::npos);
  provider.serve(idp.jwks());
  // The backoff's next retry (at most 10 s away) brings the keys.
  REQUIRE(fetcher_logged(*n.proc, "info", "JWKS from " + provider.url() + ": 2 key(s): rsa-1 RS256, ec-1 ES256"));
  CHECK(n.add(idp.sign(claims)).status == 200);
  auto metrics = http_request(n.web, "GET", "/metrics", {}).body;
  CHECK(metrics.find("\ncafmcp_jwks_fetches_total{outcome=\"error\"} ") != std::string::npos);
}

TEST_CASE("a JWKS URL over plain http to another host, next to a JWKS file, or with a least interval over the refresh stops the start naming the key") {
  temp_dir dir;
  auto start = [&](const std::string& name, const json& jwt) {
    return run({binary, "node", "--http-port", "0", "--metrics-port", "0", "--config",
                dir.write(name, json{{"mcp", {{"auth", {{"enabled", true}, {"jwt", jwt}}}}}}.dump())});
  };
  auto plain = start("a.json", {{"jwks_url", "http://id.example.com/jwks"}, {"issuer", iss}});
  CHECK(plain.code == 2);
  CHECK(plain.err.find("mcp.auth.jwt.jwks_url") != std::string::npos);
  CHECK(plain.err.find("use https://") != std::string::npos);
  jwt_issuer idp;
  auto both = start("b.json", {{"jwks_url", "https://id.example.com/jwks"},
                               {"jwks_file", dir.write("jwks.json", idp.jwks())}, {"issuer", iss}});
  CHECK(both.code == 2);
  CHECK(both.err.find("give jwks_url or jwks_file, not both") != std::string::npos);
  auto least = start("c.json", {{"jwks_url", "https://id.example.com/jwks"}, {"issuer", iss},
                                {"jwks_refresh_s", 60}, {"jwks_min_refresh_s", 120}});
  CHECK(least.code == 2);
  CHECK(least.err.find("mcp.auth.jwt.jwks_min_refresh_s") != std::string::npos);
  auto no_iss = start("d.json", {{"jwks_url", "https://id.example.com/jwks"}});
  CHECK(no_iss.code == 2);
  CHECK(no_iss.err.find("mcp.auth.jwt.issuer") != std::string::npos);
}

TEST_CASE("a JWKS URL over https is trusted through jwks_ca_file, and refused with a certificate no trusted CA signed") {
  // The provider: openssl s_server serving jwks.json with a certificate for
  // 127.0.0.1 from a CA of the test's own (cafmcp cert).
  temp_dir dir;
  REQUIRE(run({binary, "cert", "create-ca", "--certs-dir", dir.path() + "/ca"}).code == 0);
  REQUIRE(run({binary, "cert", "create-node", "idp", "--certs-dir", dir.path() + "/ca", "--host", "127.0.0.1"}).code
          == 0);
  jwt_issuer idp;
  dir.write("jwks.json", idp.jwks());
  process provider{{"/bin/sh", "-c",
                    "cd '" + dir.path() + "' && exec stdbuf -oL openssl s_server -accept 127.0.0.1:0 -cert ca/node.idp.crt "
                                          "-key ca/node.idp.key -WWW"},
                   dir.path()};
  std::smatch port;
  std::string out;
  for (int i = 0; i < 250 && !std::regex_search(out, port, std::regex{R"((?:^|\n)ACCEPT 127\.0\.0\.1:(\d+)\n)"}); ++i) {
    std::this_thread::sleep_for(20ms);
    out = provider.out();
  }
  INFO("openssl s_server said: " << out << provider.err());
  REQUIRE(port.size() == 2);
  auto url = "https://127.0.0.1:" + std::string{port[1]} + "/jwks.json";
  auto node_with = [&](const json& extra) {
    json jwt{{"jwks_url", url}, {"issuer", iss}, {"jwks_refresh_s", 86400}, {"jwks_min_refresh_s", 3600}};
    jwt.update(extra);
    return json{{"mcp", {{"auth", {{"enabled", true}, {"resource", resource}, {"jwt", jwt}}}}}}.dump();
  };
  {
    auth_node trusted{node_with({{"jwks_ca_file", dir.path() + "/ca/ca.crt"}})};
    REQUIRE(fetcher_logged(*trusted.proc, "info", "JWKS from " + url + ": 2 key(s): rsa-1 RS256, ec-1 ES256"));
    CHECK(trusted.add(idp.sign(jwt_issuer::claims(iss, resource, "ann"))).status == 200);
  }
  auth_node untrusted{node_with(json::object())}; // the system's CAs do not know the test's
  auto quoted = std::regex_replace(url, std::regex{R"([.^$|()\[\]{}*+?\\])"}, R"(\$&)");
  CHECK(untrusted.proc->wait_for_stderr_line(
    std::regex{R"(\S+ warning +(?:\S+ )?/root/protocol_sup/jwks_fetcher: fetching the JWKS from )" + quoted
               + R"( failed \(SSL certificate problem: [^)]+\); tokens are refused until a fetch works; retrying with backoff)"},
    20s));
  CHECK(untrusted.add(idp.sign(jwt_issuer::claims(iss, resource, "ann"))).status == 401);
  provider.signal(SIGTERM);
  provider.wait_exit(10s);
}

TEST_CASE("the log lines of a request with a bearer token name its subject and tenant") {
  auto ann = make_token("ann", "acme");
  temp_dir dir;
  process node{{binary, "node", "--http-port", "0", "--metrics-port", "0", "--log-level", "debug", "--config",
                dir.write("node.json", R"({"mcp": {"auth": {"enabled": true, "static_tokens": [)" + ann.entry + "]}}}")},
               dir.path()};
  auto ready = wait_ready(node);
  REQUIRE(ready);
  auto reply = mcp_tool_call(ready->mcp_port, "echo", {{"text", "hi"}}, 10s,
                             {{"Authorization", "Bearer " + ann.token}, {"X-Correlation-ID", "req-42"}});
  CHECK(reply.status == 200);
  // echo runs inline, where the request was read; sleep on a tool worker.
  CHECK(node.wait_for_stderr_line(
    std::regex{R"(\S+ debug +(\S+ )?/root/protocol_sup/tool_sup: tools/call echo \(inline\) )"
               R"(\[correlation_id req-42\] \[subject ann\] \[tenant acme\])"},
    10s));
  auto slept = mcp_tool_call(ready->mcp_port, "sleep", {{"ms", 0}}, 10s,
                             {{"Authorization", "Bearer " + ann.token}, {"X-Correlation-ID", "req-43"}});
  CHECK(slept.status == 200);
  CHECK(node.wait_for_stderr_line(
    std::regex{R"(\S+ debug +(\S+ )?/root/protocol_sup/tool_sup/tool_worker_\d+: tools/call sleep )"
               R"(\[correlation_id req-43\] \[subject ann\] \[tenant acme\])"},
    10s));
  node.signal(SIGTERM);
  CHECK(node.wait_exit(20s) == 0);
}

// -- tenants named by a header (http.tenant_header) ---------------------------

namespace {

const json tasks_caps = json{{"extensions", {{"io.modelcontextprotocol/tasks", json::object()}}}};

/// A modern request of `method` as a client declaring the Tasks extension.
http_reply modern(auth_node& n, const std::string& method, json params, headers extra, json caps = tasks_caps) {
  params["_meta"] = {{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
                     {"io.modelcontextprotocol/clientCapabilities", std::move(caps)}};
  extra.push_back({"MCP-Protocol-Version", "2026-07-28"});
  extra.push_back({"Mcp-Method", method});
  for (auto key : {"name", "taskId"})
    if (params.contains(key))
      extra.push_back({"Mcp-Name", params[key].get<std::string>()});
  return n.post(json{{"jsonrpc", "2.0"}, {"id", 1}, {"method", method}, {"params", params}}, extra);
}

std::set<std::string> tool_names(const http_reply& r) {
  std::set<std::string> out;
  auto j = json::parse(r.body, nullptr, false);
  if (j.is_object() && j["result"]["tools"].is_array())
    for (auto& t : j["result"]["tools"])
      out.insert(t.value("name", ""));
  return out;
}

json error_of(const http_reply& r) {
  auto j = json::parse(r.body, nullptr, false);
  return j.is_object() && j.contains("error") ? j["error"] : json{{"no_error", r.body}};
}

const std::string tenant_config = R"("http": {"tenant_header": "X-Tenant"},
  "tenants": {"acme": {"tools": ["echo", "sleep"]}, "globex": {"tools": ["add", "sleep"]}})";

} // namespace

TEST_CASE("with http.tenant_header the header names the tenant: its view, and another tenant's task or legacy session id is not found") {
  auth_node node{"{" + tenant_config + "}"};
  headers acme{{"X-Tenant", "acme"}};
  headers globex{{"X-Tenant", "globex"}};
  auto acme_tools = tool_names(modern(node, "tools/list", json::object(), acme));
  CHECK(acme_tools.count("echo") == 1);
  CHECK(acme_tools.count("add") == 0);
  auto globex_tools = tool_names(modern(node, "tools/list", json::object(), globex));
  CHECK(globex_tools.count("add") == 1);
  CHECK(globex_tools.count("echo") == 0);
  CHECK(tool_names(modern(node, "tools/list", json::object(), {})).count("echo") == 1); // no tenant: all
  // A tenant's view is its own: no shared cache may hand it to another.
  CHECK(json::parse(modern(node, "tools/list", json::object(), acme).body)["result"]["cacheScope"] == "private");
  CHECK(json::parse(modern(node, "tools/list", json::object(), {}).body)["result"]["cacheScope"] == "public");
  CHECK(error_of(node.call("add", {{"a", 1}, {"b", 2}}, acme))["message"].get<std::string>().find("add")
        != std::string::npos);

  // A malformed or repeated header is refused, never taken as no tenant.
  auto spaced = node.echo({{"X-Tenant", "ac me"}});
  CHECK(spaced.status == 400);
  CHECK(error_of(spaced)["message"].get<std::string>().find("X-Tenant must appear once") != std::string::npos);
  CHECK(node.echo({{"X-Tenant", "acme"}, {"X-Tenant", "globex"}}).status == 400);

  // A task is its tenant's.
  auto created = json::parse(modern(node, "tools/call", {{"name", "sleep"}, {"arguments", {{"ms", 3000}}}}, acme).body);
  REQUIRE(created["result"]["resultType"] == "task");
  auto id = created["result"]["taskId"].get<std::string>();
  for (auto& other : {globex, headers{}}) {
    auto got = modern(node, "tasks/get", {{"taskId", id}}, other);
    CHECK(error_of(got)["message"] == "Failed to retrieve task: Task not found or expired");
    auto cancelled = modern(node, "tasks/cancel", {{"taskId", id}}, other);
    CHECK(error_of(cancelled)["message"] == "Failed to cancel task: Task not found or expired");
  }
  auto mine = json::parse(modern(node, "tasks/get", {{"taskId", id}}, acme).body);
  CHECK(mine["result"]["status"] == "working"); // globex's cancel did not stop it
  CHECK(json::parse(modern(node, "tasks/cancel", {{"taskId", id}}, acme).body).contains("result"));

  // A legacy session is its tenant's.
  auto acme_session = node.legacy_session(acme);
  auto session = [&](headers h) { // acme's id, with other headers
    h.insert(h.end(), acme_session.begin() + 1, acme_session.end());
    return h;
  };
  json ping{{"jsonrpc", "2.0"}, {"id", 2}, {"method", "ping"}};
  CHECK(node.post(ping, session(globex)).status == 404);
  CHECK(node.post(ping, session({})).status == 404);
  CHECK(node.post(ping, acme_session).status == 200);

  // A resource outside the tenant's view cannot be subscribed to (its
  // updates would tell of it); one inside can.
  auto subscribe = [&](const std::string& uri) {
    return json::parse(node.post(json{{"jsonrpc", "2.0"}, {"id", 3}, {"method", "resources/subscribe"},
                                      {"params", {{"uri", uri}}}},
                                 acme_session)
                           .body);
  };
  auto hidden = subscribe("cafmcp://server/info");
  CHECK(hidden["error"]["message"] == "Resource not found");
  CHECK(hidden["error"]["data"]["uri"] == "cafmcp://server/info");
  CHECK(subscribe("cafmcp://echo/hi")["result"] == json::object()); // the echo template is acme's
}

TEST_CASE("a requestState continues a call only for the tenant it was minted for") {
  auth_node node{R"({"http": {"tenant_header": "X-Tenant"}, "mcp": {"conformance_tools": true},
                     "tenants": {"acme": {}, "globex": {}}})"};
  json caps{{"elicitation", json::object()}};
  json args{{"name", "test_elicitation"}, {"arguments", {{"message", "who?"}}}};
  auto first = json::parse(modern(node, "tools/call", args, {{"X-Tenant", "acme"}}, caps).body);
  REQUIRE_MESSAGE(first["result"]["resultType"] == "input_required", first.dump());
  auto retry = args;
  retry["requestState"] = first["result"]["requestState"];
  retry["inputResponses"] = {{"user", {{"action", "accept"}, {"content", {{"username", "ann"}, {"email", "a@x"}}}}}};
  auto stolen = modern(node, "tools/call", retry, {{"X-Tenant", "globex"}}, caps);
  CHECK(error_of(stolen)["message"] == "requestState was minted for another caller (subject or tenant differ)");
  CHECK(error_of(modern(node, "tools/call", retry, {}, caps))["code"] == -32602);
  auto own = json::parse(modern(node, "tools/call", retry, {{"X-Tenant", "acme"}}, caps).body);
  CHECK_MESSAGE(own["result"]["content"][0]["text"].get<std::string>().find("a@x") != std::string::npos, own.dump());
}

TEST_CASE("a token's own tenant wins over http.tenant_header: a header naming another tenant is refused with 403") {
  auto ann = make_token("ann");              // names no tenant: the header may
  auto carl = make_token("carl", "acme");    // acme's
  auth_node node{R"({"mcp": {"auth": {"enabled": true, "static_tokens": [)" + ann.entry + "," + carl.entry + "]}}, "
                 + tenant_config + "}"};
  auto as = [](const made_token& t, const std::string& tenant) {
    headers h{{"Authorization", "Bearer " + t.token}};
    if (!tenant.empty())
      h.push_back({"X-Tenant", tenant});
    return h;
  };
  CHECK(tool_names(modern(node, "tools/list", json::object(), as(ann, "globex"))).count("echo") == 0);
  CHECK(tool_names(modern(node, "tools/list", json::object(), as(carl, ""))).count("echo") == 1);
  CHECK(tool_names(modern(node, "tools/list", json::object(), as(carl, "acme"))).count("echo") == 1);
  auto other = node.echo(as(carl, "globex"));
  CHECK(other.status == 403);
  CHECK(error_of(other)["message"] == "header X-Tenant names tenant globex, but the bearer token is tenant acme's");
  CHECK(node.echo(as(ann, "")).status == 200);
}

TEST_CASE("an http.tenant_header that is no header name stops the start naming the key") {
  temp_dir dir;
  auto bad = run({binary, "node", "--http-port", "0", "--metrics-port", "0", "--config",
                  dir.write("a.json", R"({"http": {"tenant_header": "X Tenant"}})")});
  CHECK(bad.code == 2);
  CHECK(bad.err.find("http.tenant_header") != std::string::npos);
}
