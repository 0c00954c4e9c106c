#include "tests/support/otlp_receiver.hpp"

#include <thread>

namespace cafmcp::test {

using nlohmann::json;

std::string received_span::attribute(const std::string& key) const {
  for (auto& a : span.value("attributes", json::array()))
    if (a.value("key", "") == key) {
      auto& v = a["value"];
      if (v.contains("stringValue"))
        return v["stringValue"].get<std::string>();
      if (v.contains("intValue"))
        return v["intValue"].is_string() ? v["intValue"].get<std::string>() : v["intValue"].dump();
    }
  return {};
}

otlp_receiver::otlp_receiver()
  : server_([this](const stub_request& req) {
      take(req.body);
      return stub_response{200, "{}"};
    }) {
}

std::vector<received_span> otlp_receiver::spans() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return spans_;
}

std::vector<received_span> otlp_receiver::wait_trace(
  const std::string& id, const std::function<bool(const std::vector<received_span>&)>& pred,
  std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  std::vector<received_span> out;
  do {
    out.clear();
    for (auto& s : spans())
      if (s.span.value("traceId", "") == id)
        out.push_back(s);
    if (pred(out))
      return out;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  } while (std::chrono::steady_clock::now() < deadline);
  return out;
}

void otlp_receiver::take(const std::string& body) {
  auto j = json::parse(body, nullptr, false);
  if (!j.is_object())
    return;
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto& rs : j.value("resourceSpans", json::array())) {
    std::string node;
    for (auto& a : rs["resource"].value("attributes", json::array()))
      if (a.value("key", "") == "service.instance.id")
        node = a["value"].value("stringValue", "");
    for (auto& ss : rs.value("scopeSpans", json::array()))
      for (auto& s : ss.value("spans", json::array()))
        spans_.push_back(received_span{node, s});
  }
}

} // namespace cafmcp::test
