#include "protocol/jwks_store.hpp"

#include <utility>

namespace cafmcp::protocol {

jwks_store::jwks_store(std::string url, std::string ca_file, std::chrono::seconds refresh,
                       std::chrono::seconds least)
  : url_(std::move(url)), ca_file_(std::move(ca_file)), schedule_(refresh, least) {
}

std::shared_ptr<const std::vector<jwk>> jwks_store::keys() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return keys_;
}

std::string jwks_store::last_error() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return error_;
}

bool jwks_store::begin_fetch(clock::time_point now) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (fetching_ || !schedule_.due(now))
    return false;
  fetching_ = true;
  return true;
}

void jwks_store::end_fetch(clock::time_point now, std::optional<std::vector<jwk>> keys, const std::string& error) {
  std::vector<std::function<void()>> ready;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    fetching_ = false;
    schedule_.fetched(now, keys.has_value());
    if (keys) {
      keys_ = std::make_shared<const std::vector<jwk>>(std::move(*keys));
      error_.clear();
    } else {
      error_ = error; // the last good set stays in use
    }
    ready.swap(waiting_);
  }
  for (auto& f : ready)
    f();
}

jwks_store::clock::time_point jwks_store::next_fetch() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return schedule_.next_fetch();
}

void jwks_store::on_wake(std::function<void()> wake) {
  std::lock_guard<std::mutex> guard{mtx_};
  wake_ = std::move(wake);
}

bool jwks_store::await_fetch(std::function<void()> then) {
  std::function<void()> wake;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!fetching_ && !schedule_.ask_early(clock::now()))
      return false;
    waiting_.push_back(std::move(then));
    if (!fetching_)
      wake = wake_;
  }
  if (wake)
    wake();
  return true;
}

} // namespace cafmcp::protocol
