// Cursor paging of the catalog lists: encoding and checking cursors.
#include "protocol/detail/pagination.hpp"

#include "protocol/detail/endpoint_state.hpp"

namespace cafmcp::protocol::detail {

void fail_invalid_cursor() {
  fail(rpc_code::invalid_params, "Invalid cursor");
}

std::string encode_cursor(const std::string& list, size_t offset) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string raw = list + ":" + std::to_string(offset), out;
  for (unsigned char c : raw) {
    out += hex[c >> 4];
    out += hex[c & 0x0f];
  }
  return out;
}

size_t decode_cursor(const std::string& list, const json& params) {
  auto i = params.find("cursor");
  if (i == params.end() || i->is_null())
    return 0;
  if (!i->is_string())
    fail(rpc_code::invalid_params, "Invalid cursor");
  auto& c = i->get_ref<const std::string&>();
  std::string raw;
  if (c.size() % 2 != 0)
    fail(rpc_code::invalid_params, "Invalid cursor");
  for (size_t k = 0; k < c.size(); k += 2) {
    auto nib = [&](char x) -> int {
      if (x >= '0' && x <= '9') return x - '0';
      if (x >= 'a' && x <= 'f') return x - 'a' + 10;
      fail(rpc_code::invalid_params, "Invalid cursor");
    };
    raw += static_cast<char>(nib(c[k]) * 16 + nib(c[k + 1]));
  }
  auto prefix = list + ":";
  if (raw.rfind(prefix, 0) != 0)
    fail(rpc_code::invalid_params, "Invalid cursor");
  auto digits = raw.substr(prefix.size());
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos
      || digits.size() > 9)
    fail(rpc_code::invalid_params, "Invalid cursor");
  return std::stoul(digits);
}

} // namespace cafmcp::protocol::detail
