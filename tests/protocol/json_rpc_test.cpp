#include <doctest/doctest.h>

#include "protocol/json_rpc.hpp"

using namespace cafmcp::protocol;
using nlohmann::json;

namespace {

decoded_item one(const std::string& text) {
  auto d = decode(text, false);
  REQUIRE(d.items.size() == 1);
  return d.items.front();
}

} // namespace

TEST_CASE("a request, a notification and a response are told apart") {
  auto req = one(R"({"jsonrpc":"2.0","id":7,"method":"tools/list","params":{"cursor":"x"}})");
  REQUIRE(req.message);
  CHECK(req.message->kind == message_kind::request);
  CHECK(req.message->id == 7);
  CHECK(req.message->method == "tools/list");
  CHECK(req.message->params["cursor"] == "x");
  auto note = one(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  REQUIRE(note.message);
  CHECK(note.message->kind == message_kind::notification);
  CHECK(note.message->params.is_null());
  auto resp = one(R"({"jsonrpc":"2.0","id":"s1","result":{}})");
  REQUIRE(resp.message);
  CHECK(resp.message->kind == message_kind::response);
  auto err = one(R"({"jsonrpc":"2.0","id":"s2","error":{"code":-1,"message":"no"}})");
  REQUIRE(err.message);
  REQUIRE(err.message->error);
  CHECK(err.message->error->code == -1);
}

TEST_CASE("malformed JSON and invalid UTF-8 are parse errors (-32700) with a null id") {
  auto bad = one(R"({"jsonrpc":"2.0","id":1,"method":)");
  REQUIRE(bad.error);
  CHECK(bad.error->code == rpc_code::parse_error);
  CHECK(bad.error_id.is_null());
  auto utf8 = one("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\xff\"}");
  REQUIRE(utf8.error);
  CHECK(utf8.error->code == rpc_code::parse_error);
}

TEST_CASE("a number out of range is a parse error, not a crash (found by the fuzzer)") {
  auto big = one(R"({"jsonrpc":"2.0","id":1,"method":"x","params":{"n":8888E888}})");
  REQUIRE(big.error);
  CHECK(big.error->code == rpc_code::parse_error);
}

TEST_CASE("structurally wrong messages are invalid requests (-32600) and keep their id when it is valid") {
  struct row {
    const char* text;
    const char* fragment;
    json id;
  };
  for (auto& r : std::vector<row>{
         {R"([1])", "batches are not supported", nullptr},
         {R"("hello")", "must be an object", nullptr},
         {R"({"id":1,"method":"x"})", "\"jsonrpc\" must be \"2.0\"", 1},
         {R"({"jsonrpc":"1.0","id":1,"method":"x"})", "\"jsonrpc\" must be \"2.0\"", 1},
         {R"({"jsonrpc":"2.0","id":null,"method":"x"})", "\"id\" must be a string or an integer", nullptr},
         {R"({"jsonrpc":"2.0","id":1.5,"method":"x"})", "\"id\" must be a string or an integer", nullptr},
         {R"({"jsonrpc":"2.0","id":2,"method":5})", "\"method\" must be a non-empty string", 2},
         {R"({"jsonrpc":"2.0","id":"a","method":"x","params":3})", "\"params\" must be an object", "a"},
         {R"({"jsonrpc":"2.0"})", "needs \"method\"", nullptr},
         {R"({"jsonrpc":"2.0","id":4,"result":1,"error":{}})", "exactly one of", 4},
       }) {
    auto item = one(r.text);
    CAPTURE(r.text);
    REQUIRE(item.error);
    CHECK(item.error->code == rpc_code::invalid_request);
    CHECK(item.error->message.find(r.fragment) != std::string::npos);
    CHECK(item.error_id == r.id);
  }
}

TEST_CASE("array params are invalid params (-32602) for MCP") {
  auto item = one(R"({"jsonrpc":"2.0","id":1,"method":"tools/list","params":[]})");
  REQUIRE(item.error);
  CHECK(item.error->code == rpc_code::invalid_params);
  CHECK(item.error_id == 1);
}

TEST_CASE("a batch is decoded element by element where batches are allowed") {
  auto d = decode(R"([{"jsonrpc":"2.0","id":1,"method":"ping"},{"bad":true},{"jsonrpc":"2.0","method":"n"}])", true);
  CHECK(d.batch);
  REQUIRE(d.items.size() == 3);
  CHECK(d.items[0].message);
  CHECK(d.items[1].error);
  CHECK(d.items[2].message->kind == message_kind::notification);
  auto empty = decode("[]", true);
  REQUIRE(empty.items.size() == 1);
  CHECK(empty.items[0].error->code == rpc_code::invalid_request);
}

TEST_CASE("replies are built as JSON-RPC 2.0 and dump never throws on bad UTF-8") {
  CHECK(make_result(1, json{{"a", 1}}) == json::parse(R"({"jsonrpc":"2.0","id":1,"result":{"a":1}})"));
  CHECK(make_error("x", rpc_error{-32601, "Method not found", json{{"method", "m"}}})
        == json::parse(R"({"jsonrpc":"2.0","id":"x","error":{"code":-32601,"message":"Method not found","data":{"method":"m"}}})"));
  CHECK(make_error(nullptr, rpc_error{-32700, "Parse error", nullptr})
        == json::parse(R"({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}})"));
  CHECK(make_notification("notifications/progress", json{{"progress", 1}})["method"] == "notifications/progress");
  json bad = std::string("a\xff");
  CHECK_NOTHROW(dump(bad));
  CHECK(dump(bad) == "\"a\xEF\xBF\xBD\"");
}
