// Fetches an identity provider's JWKS into the jwks_store.
#include "protocol/jwks_fetcher.hpp"

#include <mutex>

#include <arpa/inet.h>

#include <caf/all.hpp>
#include <curl/curl.h>

#include "base/log.hpp"

namespace cafmcp::protocol {

namespace {

using jwks_tick_atom = caf::atom_constant<caf::atom("jwks_tick")>; // the scheduled fetch
using jwks_wake_atom = caf::atom_constant<caf::atom("jwks_wake")>; // an early fetch

constexpr size_t max_document = 1 << 20; // a JWKS is a few KB; more is not one
constexpr long timeout_ms = 10000;

size_t append(char* data, size_t size, size_t n, void* user) {
  auto& out = *static_cast<std::string*>(user);
  if (out.size() + size * n > max_document)
    return 0; // curl ends the transfer with CURLE_WRITE_ERROR
  out.append(data, size * n);
  return size * n;
}

std::string host_of(const std::string& url) {
  auto start = url.find("://");
  if (start == std::string::npos)
    return {};
  start += 3;
  auto end = url.find_first_of("/?#", start);
  auto authority = url.substr(start, end == std::string::npos ? std::string::npos : end - start);
  if (auto at = authority.rfind('@'); at != std::string::npos)
    authority = authority.substr(at + 1);
  if (!authority.empty() && authority[0] == '[')
    return authority.substr(0, authority.find(']') + 1);
  return authority.substr(0, authority.find(':'));
}

struct fetcher_state {
  std::shared_ptr<jwks_store> store;
  std::string path;
  bool failing = false;
  std::string kids; // of the key set in use, to log a change once
  uint64_t timer = 0; // the one scheduled tick that counts (earlier ones are stale)
  metrics::counter_series* ok = nullptr;
  metrics::counter_series* failed = nullptr;
  metrics::gauge_series* keys = nullptr;
};

using fetcher_actor = caf::stateful_actor<fetcher_state>;

/// One tick at the store's next fetch (timers may fire a little early:
/// then a tick is set again for what remains).
void schedule(fetcher_actor* self) {
  auto wait = std::chrono::ceil<std::chrono::milliseconds>(self->state.store->next_fetch() - jwks_store::clock::now());
  self->delayed_send(self, std::max(wait, std::chrono::milliseconds{1}), jwks_tick_atom::value, ++self->state.timer);
}

void fetch_if_due(fetcher_actor* self) {
  auto& st = self->state;
  auto& store = *st.store;
  if (!store.begin_fetch(jwks_store::clock::now()))
    return schedule(self);
  std::string error;
  std::optional<std::vector<jwk>> keys;
  if (auto doc = fetch_jwks_document(store.url(), store.ca_file(), error)) {
    try {
      keys = parse_jwks(*doc);
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  if (keys) {
    std::string kids;
    for (auto& k : *keys)
      kids += (kids.empty() ? "" : ", ") + (k.kid.empty() ? std::string{"(no kid)"} : k.kid) + " " + k.alg;
    if (kids != st.kids || st.failing)
      log::info(st.path, "JWKS from " + store.url() + ": " + std::to_string(keys->size()) + " key(s): " + kids);
    st.kids = kids;
    st.failing = false;
    st.ok->inc();
    st.keys->set(static_cast<double>(keys->size()));
  } else {
    if (!st.failing)
      log::warning(st.path, "fetching the JWKS from " + store.url() + " failed (" + error + "); "
                              + (st.kids.empty() ? "tokens are refused until a fetch works"
                                                 : "the last key set stays in use")
                              + "; retrying with backoff");
    st.failing = true;
    st.failed->inc();
  }
  store.end_fetch(jwks_store::clock::now(), std::move(keys), error);
  schedule(self);
}

caf::behavior fetcher_fun(fetcher_actor* self, std::shared_ptr<jwks_store> store,
                          std::shared_ptr<metrics::metrics_registry> metrics, std::string path) {
  auto& st = self->state;
  st.store = std::move(store);
  st.path = std::move(path);
  const char* help = "Fetches of the JWKS URL (mcp.auth.jwt.jwks_url), by outcome";
  st.ok = &metrics->counter("cafmcp_jwks_fetches_total", help, {{"outcome", "ok"}});
  st.failed = &metrics->counter("cafmcp_jwks_fetches_total", help, {{"outcome", "error"}});
  st.keys = &metrics->gauge("cafmcp_jwks_keys", "Signing keys in use from the JWKS URL");
  st.store->on_wake([me = caf::actor_cast<caf::actor>(self)] { caf::anon_send(me, jwks_wake_atom::value); });
  self->attach_functor([store = st.store] { store->on_wake({}); });
  self->send(self, jwks_wake_atom::value);
  return {
    [self](jwks_tick_atom, uint64_t timer) {
      if (timer == self->state.timer)
        fetch_if_due(self);
    },
    [self](jwks_wake_atom) { fetch_if_due(self); },
  };
}

} // namespace

std::string check_jwks_url(const std::string& url) {
  if (url.rfind("https://", 0) == 0 && !host_of(url).empty())
    return {};
  if (url.rfind("http://", 0) == 0) {
    auto host = host_of(url);
    in_addr v4{};
    if (host == "localhost" || host == "[::1]"
        || (inet_pton(AF_INET, host.c_str(), &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127))
      return {};
    return "http:// is allowed for a loopback host only (keys must not be open to tampering on the way); use https://";
  }
  return "not an https:// URL";
}

std::optional<std::string> fetch_jwks_document(const std::string& url, const std::string& ca_file,
                                               std::string& error) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  std::unique_ptr<CURL, void (*)(CURL*)> curl{curl_easy_init(), curl_easy_cleanup};
  if (!curl) {
    error = "libcurl could not start a transfer";
    return std::nullopt;
  }
  std::string body;
  char why[CURL_ERROR_SIZE] = {0};
  auto* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms / 2);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "cafmcp");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, append);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, why);
  if (!ca_file.empty())
    curl_easy_setopt(c, CURLOPT_CAINFO, ca_file.c_str());
  auto rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    error = rc == CURLE_WRITE_ERROR ? "the document is larger than 1 MiB" : (why[0] ? why : curl_easy_strerror(rc));
    return std::nullopt;
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (status != 200) {
    error = "HTTP " + std::to_string(status);
    return std::nullopt;
  }
  return body;
}

supervision::child_spec jwks_fetcher_spec(std::shared_ptr<jwks_store> store,
                                          std::shared_ptr<metrics::metrics_registry> metrics) {
  supervision::child_spec spec;
  spec.id = "jwks_fetcher";
  spec.start = [store, metrics](const supervision::start_context& ctx) -> caf::expected<caf::actor> {
    return ctx.system.spawn<caf::detached>(fetcher_fun, store, metrics, ctx.path);
  };
  spec.shutdown = supervision::shutdown_spec::after(std::chrono::milliseconds{timeout_ms + 1000});
  return spec;
}

} // namespace cafmcp::protocol
