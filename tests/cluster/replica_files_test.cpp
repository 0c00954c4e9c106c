// The replica files' formats read back from text: what a damaged or forged file can and cannot make a node load.

#include <doctest/doctest.h>

#include "base/crypto.hpp"
#include "cluster/replica_files.hpp"

using namespace cafmcp;
using namespace cafmcp::cluster;

namespace {

/// A WAL line with a correct checksum over any text.
std::string signed_line(const std::string& text) {
  return crypto::sha256_hex(text) + " " + text;
}

} // namespace

TEST_CASE("a WAL line with a right checksum over something that is not a record is refused, not loaded") {
  CHECK_FALSE(decode_wal_line(signed_line(R"({"f":{}})")).has_value());                     // no id
  CHECK_FALSE(decode_wal_line(signed_line(R"({"id":"h"})")).has_value());                    // no fields
  CHECK_FALSE(decode_wal_line(signed_line(R"([1,2])")).has_value());                         // not an object
  CHECK_FALSE(decode_wal_line(signed_line(R"({"id":"h","f":{"k":["v",1,4294967296,"n"]}})")) // logical > 32 bits
                .has_value());
  auto good = decode_wal_line(signed_line(R"({"id":"h","f":{"k":["v",1,4294967295,"n"]}})"));
  REQUIRE(good.has_value());
  CHECK(good->fields.at("k").ts.logical == 4294967295u);
  CHECK(decode_wal_line(encode_wal_line(*good))->fields.at("k").value == "v");
}

TEST_CASE("a snapshot under a right header whose line is not a record is corrupt, and nothing of it is loaded") {
  std::string body = R"({"id":"a","f":{}})" "\n" R"({"f":{}})" "\n";
  disk_load out;
  read_snapshot(snapshot_header(2, body) + "\n" + body, out);
  CHECK(out.snapshot_corrupt);
  CHECK(out.records.empty());
  CHECK(out.incomplete());
}
