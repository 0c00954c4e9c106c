// MCP over stdio: newline-delimited JSON-RPC.
#include "protocol/stdio_transport.hpp"

#include <cerrno>
#include <mutex>
#include <string>

#include <unistd.h>

#include "protocol/endpoint.hpp"

namespace cafmcp::protocol {

namespace {

/// Writes whole lines; shared by every request of the connection.
class line_writer {
public:
  explicit line_writer(int fd) : fd_(fd) {}

  void write_line(const nlohmann::json& msg) {
    auto line = dump(msg);
    line += '\n';
    std::lock_guard<std::mutex> guard{mtx_};
    const char* p = line.data();
    size_t left = line.size();
    while (left > 0 && !broken_) {
      auto n = ::write(fd_, p, left);
      if (n < 0) {
        if (errno == EINTR)
          continue;
        broken_ = true; // the client went away (EPIPE): drop further output
        return;
      }
      p += n;
      left -= static_cast<size_t>(n);
    }
  }

private:
  int fd_;
  std::mutex mtx_;
  bool broken_ = false;
};

class stdio_sink : public request_sink {
public:
  explicit stdio_sink(std::shared_ptr<line_writer> w) : w_(std::move(w)) {}
  void notify(const nlohmann::json& n) override { w_->write_line(n); }
  void respond(const nlohmann::json& r) override { w_->write_line(r); }

private:
  std::shared_ptr<line_writer> w_;
};

bool blank(const std::string& s) {
  return s.find_first_not_of(" \t\r") == std::string::npos;
}

} // namespace

void serve_stdio(const std::shared_ptr<endpoint>& ep, int in_fd, int out_fd, size_t max_message) {
  auto writer = std::make_shared<line_writer>(out_fd);
  auto sink = std::make_shared<stdio_sink>(writer);
  // A legacy session's list_changed and resources/updated go to stdout too.
  ep->set_push([sink](const nlohmann::json& n) { sink->notify(n); });
  std::string line;
  bool oversized = false;
  char buf[65536];
  for (;;) {
    auto n = ::read(in_fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    size_t start = 0;
    for (size_t i = 0; i < static_cast<size_t>(n); ++i) {
      if (buf[i] != '\n')
        continue;
      if (!oversized)
        line.append(buf + start, i - start);
      if (oversized) {
        sink->respond(make_error(nullptr, rpc_error{rpc_code::invalid_request,
                                                    "message exceeds the limit of "
                                                      + std::to_string(max_message) + " bytes",
                                                    nullptr}));
      } else if (!blank(line)) {
        if (line.back() == '\r')
          line.pop_back();
        ep->handle_text(line, sink);
      }
      line.clear();
      oversized = false;
      start = i + 1;
    }
    if (!oversized) {
      line.append(buf + start, static_cast<size_t>(n) - start);
      if (line.size() > max_message) {
        oversized = true;
        line.clear();
        line.shrink_to_fit();
      }
    }
  }
  // A last line without a newline still counts.
  if (!oversized && !blank(line))
    ep->handle_text(line, sink);
  ep->cancel_all();
  ep->set_push(nullptr);
}

} // namespace cafmcp::protocol
