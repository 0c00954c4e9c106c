// An upstream MCP server over Streamable HTTP: messages POSTed, answers (JSON or SSE) and its GET stream handed back as lines.
#include "protocol/upstream_http.hpp"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include <curl/curl.h>
#include <nlohmann/json.hpp>

#include "protocol/json_rpc.hpp"
#include "protocol/upstream_client.hpp"

namespace cafmcp::protocol {

std::string check_upstream_url(const std::string& url) {
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)
    return "must be an http:// or https:// URL, got \"" + url + "\"";
  return "";
}

struct http_link::state {
  http_link_options opts;
  port_callbacks cbs;
  std::mutex mtx;
  std::condition_variable cv;
  std::deque<std::string> queue;
  std::string session_id;   // from the initialize response
  bool initialized = false; // MCP-Protocol-Version goes on every later request
  size_t in_flight = 0;     // request threads running
  std::atomic<bool> stopping{false};
  std::atomic<bool> ended{false};
  std::thread dispatcher;

  /// The initialize answer arrived: later requests carry the session id
  /// and the protocol version the server chose.
  void opened(const std::string& id, const std::string& answer) {
    auto j = nlohmann::json::parse(answer, nullptr, false);
    auto version = j.is_object() && j.contains("result") ? str_of(j["result"], "protocolVersion") : std::string{};
    std::lock_guard<std::mutex> guard{mtx};
    session_id = id;
    initialized = true;
    if (!version.empty())
      opts.protocol_version = version;
  }

  void end(const std::string& why) {
    if (!ended.exchange(true) && cbs.on_exit)
      cbs.on_exit(why);
  }

  /// Dispatches the queue; `self` keeps the state alive for the request
  /// threads it starts.
  void run(const std::shared_ptr<state>& self);
  /// One POST and what comes back. `id`: a request's (null for a
  /// notification or a response), answered with an error if the POST fails.
  void post(const std::string& message, const nlohmann::json& id, bool is_initialize);
  /// The server's stream for what it sends outside any request
  /// (list_changed, resource updates, its log messages): a GET held open,
  /// and opened again when it ends, until the link stops. A server that
  /// offers none (405) is not asked again.
  void listen();
  std::atomic<bool> listening{false}; // listen() was started
};

namespace {

/// What one POST collects as it runs.
struct exchange {
  http_link::state* st = nullptr;
  bool is_initialize = false;
  nlohmann::json id; // the request's (null: a notification or a response)
  long status = 0;
  bool sse = false;
  std::string session_id;
  std::string body;  // a JSON body, or the SSE bytes not yet split
  std::string event; // the data of the SSE event being read
  size_t dropped = 0; // > 0: the event being read is past max_message (its size so far)
  std::function<void()> on_open; // once an SSE answer's headers have come (the GET stream is open)

  void deliver(std::string msg) {
    if (msg.size() > st->opts.max_message) {
      if (st->cbs.on_overlong)
        st->cbs.on_overlong(msg.size());
      return;
    }
    if (msg.empty() || !st->cbs.on_line || st->stopping)
      return;
    if (is_initialize)
      st->opened(session_id, msg); // before the owner can send its next request
    if (st->opts.on_request_line && id.is_number_integer())
      st->opts.on_request_line(std::move(msg), id.get<int64_t>());
    else
      st->cbs.on_line(std::move(msg));
  }

  /// Splits SSE lines as they arrive; an empty line ends an event.
  void feed_sse() {
    size_t start = 0;
    for (;;) {
      auto nl = body.find('\n', start);
      if (nl == std::string::npos)
        break;
      auto line = body.substr(start, nl - start);
      if (!line.empty() && line.back() == '\r')
        line.pop_back();
      start = nl + 1;
      if (line.empty()) {
        if (dropped > 0 && st->cbs.on_overlong)
          st->cbs.on_overlong(dropped);
        else
          deliver(std::move(event));
        event.clear();
        dropped = 0;
      } else if (line.rfind("data:", 0) == 0) {
        auto data = line.substr(line.size() > 5 && line[5] == ' ' ? 6 : 5);
        if (dropped > 0) {
          dropped += data.size();
          continue;
        }
        if (!event.empty())
          event += '\n';
        event += data;
        if (event.size() > st->opts.max_message) { // never buffered whole
          dropped = event.size();
          event.clear();
        }
      } // event:, id:, retry: and comments carry nothing cafmcp relays
    }
    body.erase(0, start);
  }
};

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto& x = *static_cast<exchange*>(user);
  std::string line{data, size * n};
  if ((line == "\r\n" || line == "\n") && x.sse && x.on_open) { // the headers end: an event stream is open
    auto open = std::move(x.on_open);
    x.on_open = nullptr;
    open();
  }
  auto colon = line.find(':');
  if (colon != std::string::npos) {
    auto name = line.substr(0, colon);
    for (auto& c : name)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
      value.pop_back();
    if (name == "content-type")
      x.sse = value.rfind("text/event-stream", 0) == 0;
    else if (name == "mcp-session-id")
      x.session_id = value;
  }
  return size * n;
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto& x = *static_cast<exchange*>(user);
  if (x.st->stopping)
    return 0; // aborts the transfer
  x.body.append(data, size * n);
  if (x.sse)
    x.feed_sse();
  // A JSON body, or an SSE line, longer than any message may be: abort.
  if (x.body.size() > x.st->opts.max_message)
    return 0;
  return size * n;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<exchange*>(user)->st->stopping ? 1 : 0;
}

} // namespace

namespace {

using curl_ptr = std::unique_ptr<CURL, void (*)(CURL*)>;
using header_ptr = std::unique_ptr<curl_slist, void (*)(curl_slist*)>;

curl_ptr new_transfer() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  return curl_ptr{curl_easy_init(), curl_easy_cleanup};
}

/// Sets up a transfer of the link's: its headers (the session's, the
/// protocol version, the upstream's own) and what comes back into `x`.
/// `stream`: the GET stream (no time limit; only SSE accepted).
header_ptr prepare(http_link::state& st, CURL* c, exchange& x, char* why, bool stream) {
  curl_slist* headers = nullptr;
  if (!stream)
    headers = curl_slist_append(headers, "Content-Type: application/json");
  headers = curl_slist_append(headers, stream ? "Accept: text/event-stream" : "Accept: application/json, text/event-stream");
  {
    std::lock_guard<std::mutex> guard{st.mtx};
    if (!st.session_id.empty())
      headers = curl_slist_append(headers, ("Mcp-Session-Id: " + st.session_id).c_str());
    if (st.initialized && !st.opts.protocol_version.empty()) // guarded by mtx once set
      headers = curl_slist_append(headers, ("MCP-Protocol-Version: " + st.opts.protocol_version).c_str());
  }
  for (auto& h : st.opts.headers)
    headers = curl_slist_append(headers, h.c_str());
  curl_easy_setopt(c, CURLOPT_URL, st.opts.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  if (!stream)
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(st.opts.timeout.count()));
  curl_easy_setopt(c, CURLOPT_USERAGENT, "cafmcp");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &x);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, why);
  return header_ptr{headers, curl_slist_free_all};
}

} // namespace

void http_link::state::post(const std::string& message, const nlohmann::json& id, bool is_initialize) {
  auto curl = new_transfer();
  if (!curl)
    return end("libcurl could not start a transfer");
  exchange x;
  x.st = this;
  x.is_initialize = is_initialize;
  x.id = id;
  char why[CURL_ERROR_SIZE] = {0};
  auto* c = curl.get();
  auto headers = prepare(*this, c, x, why, false);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, message.c_str());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(message.size()));
  auto rc = curl_easy_perform(c);
  if (stopping)
    return;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &x.status);
  auto fail_request = [&](const std::string& reason) {
    // The request gets an answer naming why; the session goes on.
    if (!id.is_null() && cbs.on_line)
      cbs.on_line(dump(make_error(id, rpc_error{rpc_code::internal_error, reason, nullptr})));
  };
  // No connection: the server cannot be reached, the upstream is down. (A
  // request that timed out or broke off fails alone, below.)
  if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_RESOLVE_PROXY
      || rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_PEER_FAILED_VERIFICATION)
    return end("cannot be reached at " + opts.url + ": " + (why[0] ? std::string{why} : curl_easy_strerror(rc)));
  if (rc != CURLE_OK && is_initialize)
    return end("did not answer initialize: " + std::string{why[0] ? why : curl_easy_strerror(rc)});
  if (x.status == 404 && !is_initialize && !session_id.empty())
    return end("ended the session (HTTP 404)");
  if (rc != CURLE_OK)
    return fail_request("the HTTP request failed: " + std::string{why[0] ? why : curl_easy_strerror(rc)});
  if (x.status < 200 || x.status >= 300) {
    auto text = x.body.substr(0, 200);
    if (is_initialize) // a server that refuses to start a session: retried after the backoff
      return end("refused initialize with HTTP " + std::to_string(x.status) + ": " + text);
    return fail_request("answered HTTP " + std::to_string(x.status) + ": " + text);
  }
  if (x.sse) {
    x.body += "\n\n"; // an event the server did not end
    x.feed_sse();
  } else if (!x.body.empty()) {
    x.deliver(std::move(x.body));
  }
}

void http_link::state::listen() {
  using namespace std::chrono_literals;
  auto pause = 500ms;
  bool again = false; // a stream was open before
  while (!stopping && !ended) {
    auto curl = new_transfer();
    if (!curl)
      return;
    exchange x;
    x.st = this;
    char why[CURL_ERROR_SIZE] = {0};
    auto* c = curl.get();
    auto headers = prepare(*this, c, x, why, true);
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    // No time limit: a connection that died without a word is found by TCP keepalive.
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPIDLE, 30L);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPINTVL, 10L);
    x.on_open = [this, &again] {
      // What the server announced while no stream was open is lost: list again.
      if (again && cbs.on_line)
        for (auto kind : {"tools", "prompts", "resources"})
          cbs.on_line(std::string{R"({"jsonrpc":"2.0","method":"notifications/)"} + kind + R"(/list_changed"})");
      again = true;
    };
    auto started = std::chrono::steady_clock::now();
    auto rc = curl_easy_perform(c);
    if (stopping)
      return;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &x.status);
    bool in_session = false;
    {
      std::lock_guard<std::mutex> guard{mtx};
      in_session = !session_id.empty();
    }
    if (rc == CURLE_OK && x.status == 404 && in_session)
      return end("ended the session (HTTP 404)");
    if (rc == CURLE_OK && (x.status == 405 || (x.status >= 200 && x.status < 300 && !x.sse)))
      return; // it offers no stream: requests' own streams carry everything
    if (x.sse) {
      x.body += "\n\n"; // an event the server did not end
      x.feed_sse();
    }
    // The stream ended (the server closed it, the connection broke, or it
    // was refused for now: a 503 while the server restarts): open it again,
    // soon after a long one, later after quick failures.
    pause = std::chrono::steady_clock::now() - started > 10s ? 500ms : std::min<std::chrono::milliseconds>(pause * 2, 30s);
    std::unique_lock<std::mutex> lock{mtx};
    cv.wait_for(lock, pause, [this] { return stopping.load(); });
  }
}

void http_link::state::run(const std::shared_ptr<state>& self) {
  std::unique_lock<std::mutex> lock{mtx};
  for (;;) {
    cv.wait(lock, [&] { return stopping || (!queue.empty() && in_flight < opts.max_concurrent); });
    if (stopping)
      return;
    auto message = std::move(queue.front());
    queue.pop_front();
    // Requests run on threads of their own; notifications and responses
    // (short, answered 202) go out here, in order.
    auto parsed = nlohmann::json::parse(message, nullptr, false);
    bool request = parsed.is_object() && parsed.contains("method") && parsed.contains("id");
    if (!request) {
      lock.unlock();
      post(message, nullptr, false);
      // The session is open once the server has heard initialized: what it
      // sends outside requests comes on its GET stream from now on.
      if (str_of(parsed, "method") == "notifications/initialized" && !listening.exchange(true))
        std::thread([self] { self->listen(); }).detach();
      lock.lock();
      continue;
    }
    ++in_flight;
    std::thread([self, message = std::move(message), id = parsed["id"], init = str_of(parsed, "method") == "initialize"] {
      self->post(message, id, init);
      std::lock_guard<std::mutex> guard{self->mtx};
      --self->in_flight;
      self->cv.notify_all();
    }).detach();
  }
}

http_link::http_link(http_link_options opts, port_callbacks cbs) : st_(std::make_shared<state>()) {
  st_->opts = std::move(opts);
  st_->cbs = std::move(cbs);
  st_->dispatcher = std::thread([st = st_] { st->run(st); });
}

http_link::~http_link() {
  {
    std::lock_guard<std::mutex> guard{st_->mtx};
    st_->stopping = true;
  }
  st_->cv.notify_all();
  st_->dispatcher.join();
  // Transfers in flight see `stopping` at their next progress tick and end
  // by themselves; their threads hold the state, so nothing waits for them
  // here (this runs on the owner's thread, an actor's).
}

void http_link::send(std::string message) {
  {
    std::lock_guard<std::mutex> guard{st_->mtx};
    if (st_->stopping || st_->ended)
      return;
    st_->queue.push_back(std::move(message));
  }
  st_->cv.notify_all();
}

} // namespace cafmcp::protocol
