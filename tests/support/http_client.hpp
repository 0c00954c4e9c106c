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

/// A request whose response is read as it arrives (an SSE stream that
/// stays open). Every wait is bounded; the destructor closes the socket.
class http_stream {
public:
  http_stream(uint16_t port, const std::string& method, const std::string& path,
              const std::vector<std::pair<std::string, std::string>>& headers, const std::string& body = {});
  /// A connection that sends `raw` as it is (nothing added: part of a
  /// request, or nothing). `receive_buffer` > 0 sets SO_RCVBUF before the
  /// connect: a reader that takes little at a time.
  http_stream(uint16_t port, const std::string& raw, int receive_buffer = 0);
  /// Sends more bytes; false if the connection is gone.
  bool send(const std::string& raw);
  /// Whether the connection is open (connected, not closed by either side).
  bool open() const { return fd_ >= 0 && !eof_; }
  ~http_stream();
  http_stream(const http_stream&) = delete;
  http_stream& operator=(const http_stream&) = delete;

  /// Reads until what arrived contains `needle` (true) or `timeout` passes
  /// or the server closes (false).
  bool wait_for(const std::string& needle, std::chrono::milliseconds timeout);
  /// Whether `needle` is in what has arrived by now, without waiting (to
  /// tell what came before another event).
  bool arrived(const std::string& needle);
  /// Reads until the server closes the stream (true) or `timeout` passes.
  bool wait_closed(std::chrono::milliseconds timeout);
  /// Everything received so far (head and chunk framing included).
  const std::string& raw() const { return raw_; }
  void close();

private:
  bool read_some(std::chrono::milliseconds timeout);
  int fd_ = -1;
  bool eof_ = false;
  std::string raw_;
};

/// The bytes of an HTTP/1.1 request as http_stream sends it (Host
/// 127.0.0.1, Content-Length for a body or a POST).
std::string request_text(const std::string& method, const std::string& path,
                         const std::vector<std::pair<std::string, std::string>>& headers, const std::string& body = {});

/// The `data:` payloads of an SSE body, in order.
std::vector<std::string> sse_data(const std::string& body);

} // namespace cafmcp::test
