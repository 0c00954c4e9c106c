// JSON-RPC 2.0 decoding and encoding as MCP uses it.
#include "protocol/json_rpc.hpp"

namespace cafmcp::protocol {

namespace {

rpc_error invalid(std::string message) {
  return rpc_error{rpc_code::invalid_request, std::move(message), nullptr};
}

bool valid_id(const nlohmann::json& id) {
  // MCP: a string or an integer, never null.
  return id.is_string() || id.is_number_integer() || id.is_number_unsigned();
}

} // namespace

decoded_item decode_value(const nlohmann::json& v) {
  decoded_item out;
  out.error_id = nullptr;
  if (!v.is_object()) {
    out.error = invalid("a JSON-RPC message must be an object");
    return out;
  }
  if (auto id = v.find("id"); id != v.end() && valid_id(*id))
    out.error_id = *id;
  auto version = v.find("jsonrpc");
  if (version == v.end() || *version != "2.0") {
    out.error = invalid("\"jsonrpc\" must be \"2.0\"");
    return out;
  }
  auto id = v.find("id");
  if (id != v.end() && !valid_id(*id)) {
    out.error = invalid("\"id\" must be a string or an integer");
    return out;
  }
  rpc_message msg;
  auto method = v.find("method");
  if (method != v.end()) {
    if (!method->is_string() || method->get_ref<const std::string&>().empty()) {
      out.error = invalid("\"method\" must be a non-empty string");
      return out;
    }
    if (v.contains("result") || v.contains("error")) {
      out.error = invalid("a request cannot carry \"result\" or \"error\"");
      return out;
    }
    msg.method = method->get<std::string>();
    if (auto params = v.find("params"); params != v.end()) {
      if (!params->is_object() && !params->is_array()) {
        out.error = invalid("\"params\" must be an object");
        return out;
      }
      if (params->is_array()) {
        out.error = rpc_error{rpc_code::invalid_params, "MCP \"params\" must be an object, not an array",
                              nullptr};
        return out;
      }
      msg.params = *params;
    }
    if (id == v.end()) {
      msg.kind = message_kind::notification;
    } else {
      msg.kind = message_kind::request;
      msg.id = *id;
    }
    out.message = std::move(msg);
    return out;
  }
  // A response (to a request the server sent).
  if (id == v.end()) {
    out.error = invalid("a message needs \"method\" (request, notification) or \"id\" (response)");
    return out;
  }
  auto result = v.find("result");
  auto error = v.find("error");
  if ((result == v.end()) == (error == v.end())) {
    out.error = invalid("a response needs exactly one of \"result\" and \"error\"");
    return out;
  }
  msg.kind = message_kind::response;
  msg.id = *id;
  if (result != v.end()) {
    msg.result = *result;
  } else {
    if (!error->is_object() || !error->contains("code") || !(*error)["code"].is_number_integer()
        || !error->contains("message") || !(*error)["message"].is_string()) {
      out.error = invalid("\"error\" must be an object with an integer \"code\" and a string \"message\"");
      return out;
    }
    rpc_error e;
    e.code = (*error)["code"].get<int>();
    e.message = (*error)["message"].get<std::string>();
    e.data = error->value("data", nlohmann::json{});
    msg.error = std::move(e);
  }
  out.message = std::move(msg);
  return out;
}

std::optional<rpc_error> parse(std::string_view text, nlohmann::json& out) {
  try {
    out = nlohmann::json::parse(text.begin(), text.end());
    return std::nullopt;
  } catch (const nlohmann::json::exception& e) { // parse_error, or out_of_range for 1E999
    std::string what = e.what();
    auto pos = what.find("] "); // drop nlohmann's "[json.exception.parse_error.101] "
    return rpc_error{rpc_code::parse_error,
                     "Parse error: " + (pos == std::string::npos ? what : what.substr(pos + 2)), nullptr};
  }
}

namespace {

decoded one_error(rpc_error err) {
  decoded out;
  decoded_item item;
  item.error_id = nullptr;
  item.error = std::move(err);
  out.items.push_back(std::move(item));
  return out;
}

} // namespace

decoded decode_parsed(const nlohmann::json& v, bool allow_batch) {
  if (!v.is_array()) {
    decoded out;
    out.items.push_back(decode_value(v));
    return out;
  }
  if (!allow_batch)
    return one_error(invalid("batches are not supported in this protocol version"));
  if (v.empty())
    return one_error(invalid("an empty batch"));
  decoded out;
  out.batch = true;
  for (auto& element : v)
    out.items.push_back(decode_value(element));
  return out;
}

decoded decode(std::string_view text, bool allow_batch) {
  nlohmann::json v;
  if (auto err = parse(text, v))
    return one_error(std::move(*err));
  return decode_parsed(v, allow_batch);
}

bool needs_response(const decoded_item& item) {
  return item.error || item.message->kind == message_kind::request;
}

nlohmann::json make_result(const nlohmann::json& id, nlohmann::json result) {
  return nlohmann::json{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
}

nlohmann::json make_error(const nlohmann::json& id, const rpc_error& err) {
  nlohmann::json e{{"code", err.code}, {"message", err.message}};
  if (!err.data.is_null())
    e["data"] = err.data;
  return nlohmann::json{{"jsonrpc", "2.0"}, {"id", id}, {"error", std::move(e)}};
}

nlohmann::json make_notification(std::string method, nlohmann::json params) {
  nlohmann::json out{{"jsonrpc", "2.0"}, {"method", std::move(method)}};
  if (!params.is_null())
    out["params"] = std::move(params);
  return out;
}

nlohmann::json make_request(const nlohmann::json& id, std::string method, nlohmann::json params) {
  nlohmann::json out{{"jsonrpc", "2.0"}, {"id", id}, {"method", std::move(method)}};
  if (!params.is_null())
    out["params"] = std::move(params);
  return out;
}

std::string dump(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace cafmcp::protocol
