#pragma once
// Cursor paging of the catalog lists: the cursor is the offset of the next page, hex-encoded with a tag.

#include <algorithm>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cafmcp::protocol::detail {

/// The cursor of the page of list `list` starting at `offset`.
std::string encode_cursor(const std::string& list, size_t offset);

/// The offset params.cursor names (0: none); a cursor from another list or
/// a made-up one fails the request (invalid params).
size_t decode_cursor(const std::string& list, const nlohmann::json& params);

/// Fails the request: the cursor is not one of ours.
[[noreturn]] void fail_invalid_cursor();

/// The page of `items` that params.cursor asks for, as {list: [...],
/// nextCursor?}, each item rendered by `to_json`.
template <class T, class F>
nlohmann::json page(const std::vector<T>& items, const std::string& list, const nlohmann::json& params,
                    size_t page_size, F to_json) {
  auto offset = decode_cursor(list, params);
  if (offset > items.size())
    fail_invalid_cursor();
  nlohmann::json out{{list, nlohmann::json::array()}};
  auto end = std::min(items.size(), offset + page_size);
  for (auto i = offset; i < end; ++i)
    out[list].push_back(to_json(items[i]));
  if (end < items.size())
    out["nextCursor"] = encode_cursor(list, end);
  return out;
}

} // namespace cafmcp::protocol::detail
