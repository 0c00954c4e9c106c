// libFuzzer target: whatever bytes a client sends to the MCP port, the HTTP
// parsing (Boost.Beast's request parser, with the transport's limits) and
// the transport's header handling (version, method and name checks, base64
// header values, Origin and Host checks, correlation ids, the _meta check)
// must not crash, hang or leak. In process, no socket.
// Build and run: bash tests/fuzz/run.sh [seconds]

#include <utility> // Boost 1.74's Asio misses it under C++20

#include <cstddef>
#include <cstdint>
#include <string>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "protocol/detail/http_headers.hpp"
#include "protocol/json_rpc.hpp"

namespace http = boost::beast::http;
using namespace cafmcp::protocol;
using nlohmann::json;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  http::request_parser<http::string_body> parser;
  parser.body_limit(64 * 1024); // the transport's limits, scaled to the fuzzer's inputs
  parser.header_limit(16 * 1024);
  parser.eager(true);
  boost::beast::error_code ec;
  // Fed in two parts, as bytes arrive from a socket; what the parser
  // leaves unused waits for more, as in the transport's read buffer.
  std::string pending;
  for (auto part : {std::string(reinterpret_cast<const char*>(data), size / 2),
                    std::string(reinterpret_cast<const char*>(data) + size / 2, size - size / 2)}) {
    pending += part;
    while (!ec && !parser.is_done() && !pending.empty()) {
      auto used = parser.put(boost::asio::buffer(pending), ec);
      pending.erase(0, used);
      if (ec == http::error::need_more) { // called again only with more bytes, as Beast requires
        ec = {};
        break;
      }
    }
  }
  if (!ec && !parser.is_done() && parser.got_some()) // the client closed
    parser.put_eof(ec);
  if (!parser.is_header_done())
    return 0;
  auto& req = parser.get();
  auto header = [&req](const char* name) {
    auto i = req.find(name);
    return i == req.end() ? std::string{} : std::string{i->value()};
  };
  for (auto& field : req) {
    std::string decoded;
    (void) detail::decode_header_value(std::string{field.value()}, decoded);
  }
  (void) detail::origin_allowed(header("origin"), {"https://example.com"});
  (void) detail::host_allowed(header("host"), {"mcp.example"});
  (void) detail::correlation_for(header("x-correlation-id"));
  (void) detail::lower(std::string{req.target()});
  auto body = json::parse(req.body(), nullptr, false);
  if (body.is_discarded())
    return 0;
  (void) detail::missing_modern_meta(body);
  (void) detail::header_mismatch(body, header);
  (void) detail::http_status_for(body, true);
  (void) detail::http_status_for(body, false);
  return 0;
}
