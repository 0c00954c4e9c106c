#pragma once

// A small blocking HTTP/1.1 client for black-box tests (one request per
// connection; Content-Length and chunked bodies; every read bounded).

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace cafmcp::test {

struct http_reply {
  int status = 0;                            // 0: no answer (connect or read failed)
  std::map<std::string, std::string> headers; // names in lower case
  std::string body;                           // de-chunked
};

http_reply http_request(uint16_t port, const std::string& method, const std::string& path,
                        const std::vector<std::pair<std::string, std::string>>& headers,
                        const std::string& body = {},
                        std::chrono::milliseconds timeout = std::chrono::seconds(10));

/// The `data:` payloads of an SSE body, in order.
std::vector<std::string> sse_data(const std::string& body);

} // namespace cafmcp::test
