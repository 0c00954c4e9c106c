// The Streamable HTTP transport's header and status helpers.

#include <doctest/doctest.h>

#include "protocol/detail/http_headers.hpp"
#include "protocol/json_rpc.hpp"
#include "protocol/versions.hpp"

using namespace cafmcp::protocol;
using namespace cafmcp::protocol::detail;

TEST_CASE("a base64 header value is decoded - a plain one is kept and a malformed one refused") {
  std::string out;
  CHECK(decode_header_value("=?base64?dG9vbHMvY2FsbA==?=", out));
  CHECK(out == "tools/call");
  CHECK(decode_header_value("tools/list", out));
  CHECK(out == "tools/list");
  CHECK_FALSE(decode_header_value("=?base64?***?=", out));
}

TEST_CASE("local origins on any port are allowed - others only when configured") {
  CHECK(origin_allowed("http://localhost:3000", {}));
  CHECK(origin_allowed("https://127.0.0.1", {}));
  CHECK(origin_allowed("http://[::1]:8080", {}));
  CHECK_FALSE(origin_allowed("http://localhost.evil.example", {}));
  CHECK_FALSE(origin_allowed("https://app.example", {}));
  CHECK(origin_allowed("https://app.example", {"https://app.example"}));
}

TEST_CASE("JSON-RPC errors map to HTTP statuses - legacy clients get most of them in a 200") {
  auto error = [](int code) { return nlohmann::json{{"jsonrpc", "2.0"}, {"id", 1}, {"error", {{"code", code}}}}; };
  CHECK(http_status_for(nlohmann::json{{"result", 1}}, true) == 200);
  CHECK(http_status_for(error(rpc_code::parse_error), false) == 400);
  CHECK(http_status_for(error(mcp_code::server_busy), false) == 503);
  CHECK(http_status_for(error(rpc_code::method_not_found), false) == 200);
  CHECK(http_status_for(error(rpc_code::method_not_found), true) == 404);
  CHECK(http_status_for(error(rpc_code::invalid_params), true) == 400);
}

TEST_CASE("a sane correlation id is kept - anything else gets a fresh UUIDv4") {
  CHECK(correlation_for("req-1.a_b:c") == "req-1.a_b:c");
  auto fresh = correlation_for("bad id with spaces");
  REQUIRE(fresh.size() == 36);
  CHECK(fresh[14] == '4');
  CHECK(std::string{"89ab"}.find(fresh[19]) != std::string::npos); // variant 10
  for (size_t dash : {8, 13, 18, 23})
    CHECK(fresh[dash] == '-');
  CHECK(fresh.find_first_not_of("0123456789abcdef-") == std::string::npos);
  CHECK(correlation_for("") != correlation_for(""));
  CHECK(correlation_for(std::string(129, 'a')).size() == 36);
}

TEST_CASE("a body sent as 2026-07-28 without its _meta is told what it lacks") {
  using nlohmann::json;
  CHECK(missing_modern_meta(json{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "tools/list"}})
        == "params (with params._meta) is missing");
  CHECK(missing_modern_meta(json{{"method", "tools/list"}, {"params", json::object()}}) == "params._meta is missing");
  CHECK(missing_modern_meta(json{{"method", "tools/list"}, {"params", {{"_meta", 3}}}})
        == "params._meta is not an object");
  CHECK(missing_modern_meta(json{{"method", "tools/list"}, {"params", {{"_meta", json::object()}}}})
        == "params._meta[\"io.modelcontextprotocol/protocolVersion\"] is missing");
  CHECK(missing_modern_meta(json::array()) == "the body is not a JSON-RPC request object");
  CHECK(missing_modern_meta(json{{"method", "tools/list"},
                                 {"params", {{"_meta", {{"io.modelcontextprotocol/protocolVersion", "2026-07-28"}}}}}})
        .empty());
}

TEST_CASE("a loopback server answers only Host names of this machine or configured ones (DNS rebinding)") {
  CHECK(host_allowed("127.0.0.1:8080", {}));
  CHECK(host_allowed("localhost", {}));
  CHECK(host_allowed("LOCALHOST:1", {}));
  CHECK(host_allowed("[::1]:8080", {}));
  CHECK_FALSE(host_allowed("attacker.example:8080", {}));
  CHECK_FALSE(host_allowed("127.0.0.1.attacker.example", {}));
  CHECK_FALSE(host_allowed("", {}));
  CHECK_FALSE(host_allowed("[::1", {}));
  CHECK(host_allowed("mcp.internal:8080", {"mcp.internal"}));
  CHECK(host_allowed("mcp.internal:8080", {"mcp.internal:8080"}));
  CHECK_FALSE(host_allowed("mcp.internal:9999", {"mcp.internal:8080"}));
  CHECK(is_loopback_host("127.0.0.1"));
  CHECK(is_loopback_host("::1"));
  CHECK_FALSE(is_loopback_host("0.0.0.0"));
  CHECK_FALSE(is_loopback_host("10.0.0.1"));
}

TEST_CASE("header_mismatch takes any body: without params._meta the version cannot match") {
  using nlohmann::json;
  auto header = [](const char* name) { return std::string{name} == "mcp-protocol-version" ? "2026-07-28" : ""; };
  for (auto body : {json::array(), json{{"params", 1}}, json{{"params", {{"_meta", json::object()}}}}, json(nullptr)})
    CHECK(header_mismatch(body, header).find("does not match body value null") != std::string::npos);
}

TEST_CASE("a tenant header's name is an HTTP token and its value 1 to 128 visible ASCII characters") {
  CHECK(is_header_name("X-Tenant"));
  CHECK(is_header_name("x_org.id"));
  CHECK_FALSE(is_header_name(""));
  CHECK_FALSE(is_header_name("X Tenant"));
  CHECK_FALSE(is_header_name("X-Tenant:"));
  CHECK_FALSE(is_header_name(std::string(257, 'x')));
  CHECK(is_tenant_name("acme"));
  CHECK(is_tenant_name("org:42/eu"));
  CHECK(is_tenant_name(std::string(128, 'a')));
  CHECK_FALSE(is_tenant_name(""));
  CHECK_FALSE(is_tenant_name("ac me"));
  CHECK_FALSE(is_tenant_name("acme\t"));
  CHECK_FALSE(is_tenant_name("caf\xc3\xa9"));
  CHECK_FALSE(is_tenant_name(std::string(129, 'a')));
}
