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

TEST_CASE("a large snapshot is read in parallel parts - every record back in order, and one bad line anywhere makes it corrupt") {
  const size_t n = 25000; // past the size read by several threads
  std::string body;
  for (size_t i = 0; i < n; ++i) {
    record_delta d;
    d.id = "h" + std::to_string(i);
    d.fields["k"] = field_value{"v" + std::to_string(i), hlc_stamp{i + 1, 0, "n1"}};
    body += encode_snapshot_record(d) + "\n";
  }
  disk_load good;
  read_snapshot(snapshot_header(n, body) + "\n" + body, good);
  REQUIRE_FALSE(good.snapshot_corrupt);
  REQUIRE(good.records.size() == n);
  CHECK(good.from_snapshot == n);
  bool in_order = true;
  for (size_t i = 0; i < n; ++i)
    in_order = in_order && good.records[i].id == "h" + std::to_string(i)
               && good.records[i].fields.at("k").value == "v" + std::to_string(i);
  CHECK(in_order);
  // A line near the end (another part than the first) that is not a record.
  auto at = body.rfind("{\"f\"", body.size() - 2);
  REQUIRE(at != std::string::npos);
  auto bad = body.substr(0, at) + "not a record" + body.substr(body.find('\n', at));
  disk_load broken;
  read_snapshot(snapshot_header(n, bad) + "\n" + bad, broken);
  CHECK(broken.snapshot_corrupt);
  CHECK(broken.records.empty());
  CHECK(broken.problem == "a snapshot record does not parse");
}
