#pragma once

// JSON-RPC 2.0 as MCP uses it: decoding one JSON text (an HTTP body or a
// stdio line) into requests, notifications and responses, with a precise
// error for everything malformed, and building the replies.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace cafmcp::protocol {

/// JSON-RPC 2.0 error codes.
namespace rpc_code {
constexpr int parse_error = -32700;
constexpr int invalid_request = -32600;
constexpr int method_not_found = -32601;
constexpr int invalid_params = -32602;
constexpr int internal_error = -32603;
} // namespace rpc_code

struct rpc_error {
  int code = rpc_code::internal_error;
  std::string message;
  nlohmann::json data; // null: no data member
};

enum class message_kind { request, notification, response };

struct rpc_message {
  message_kind kind = message_kind::request;
  nlohmann::json id;     // requests and responses: a string or an integer
  std::string method;    // requests and notifications
  nlohmann::json params; // an object, or null when absent
  nlohmann::json result; // responses without an error
  std::optional<rpc_error> error; // error responses
};

/// One element of a decoded text: a valid message, or the error to answer
/// for it (with the element's id when one could be read, else null).
struct decoded_item {
  std::optional<rpc_message> message;
  std::optional<rpc_error> error;
  nlohmann::json error_id;
};

struct decoded {
  bool batch = false;
  std::vector<decoded_item> items;
};

/// Parses one JSON text into `out`; malformed JSON (including invalid UTF-8
/// and numbers out of range) gives the -32700 error to answer.
std::optional<rpc_error> parse(std::string_view text, nlohmann::json& out);

/// Decodes a parsed value: a batch when `allow_batch` is false, or an empty
/// batch, gives one -32600 item.
decoded decode_parsed(const nlohmann::json& value, bool allow_batch);

/// parse() then decode_parsed(); malformed JSON gives one -32700 item.
decoded decode(std::string_view text, bool allow_batch);

/// True when `item` gets a response: a request, or an element in error.
bool needs_response(const decoded_item& item);

/// Validates one already parsed element.
decoded_item decode_value(const nlohmann::json& value);

nlohmann::json make_result(const nlohmann::json& id, nlohmann::json result);
nlohmann::json make_error(const nlohmann::json& id, const rpc_error& err);
nlohmann::json make_notification(std::string method, nlohmann::json params);
nlohmann::json make_request(const nlohmann::json& id, std::string method, nlohmann::json params);

/// Serialises without throwing on invalid UTF-8 (replaced by U+FFFD): text
/// that reached us from a client can end up in error messages.
std::string dump(const nlohmann::json& value);

} // namespace cafmcp::protocol
