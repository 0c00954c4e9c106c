// The encrypted backup file, its keys, the cut a backup reads, and the schedule's retention.
#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include "base/crypto.hpp"
#include "cluster/backup_file.hpp"
#include "cluster/replica_store.hpp"
#include "observability/backup_schedule.hpp"
#include "tests/support/process.hpp"

using namespace cafmcp;
using namespace cafmcp::cluster;

namespace {

record_delta record(const std::string& id, const std::string& value, uint64_t wall = 1000) {
  record_delta d;
  d.id = id;
  d.fields[field::created] = field_value{"1", hlc_stamp{wall, 0, "n1"}};
  d.fields[field::data("k")] = field_value{value, hlc_stamp{wall, 1, "n1"}};
  return d;
}

std::string key_file(const test::temp_dir& dir, const std::string& name = "backup.key") {
  auto path = dir.path() + "/" + name;
  write_key_file(path);
  return path;
}

backup_secret with_key(const std::string& path) {
  backup_secret s;
  s.key_file = path;
  return s;
}

backup_secret with_passphrase(const std::string& p) {
  backup_secret s;
  s.passphrase = p;
  s.has_passphrase = true;
  return s;
}

/// Writes `n` records into PATH under the secret, in chunks of `chunk` bytes.
backup_summary write_backup(const std::string& path, const backup_secret& s, size_t n, size_t chunk = 4096) {
  backup_header h;
  h.cluster = "n1,n2,n3";
  h.cut = hlc_stamp{5000, 0, ""};
  h.records = n;
  backup_writer w{path, h, make_backup_key(s), chunk};
  for (size_t i = 0; i < n; ++i)
    w.add(record("r" + std::to_string(i), std::string(40, static_cast<char>('a' + i % 26))));
  return w.finish();
}

std::string slurp(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

void spit(const std::string& path, const std::string& bytes) {
  std::ofstream out{path, std::ios::binary | std::ios::trunc};
  out << bytes;
}

/// verify_backup's error, or "" when it passes.
std::string verify_error(const std::string& path, const backup_secret& s) {
  try {
    verify_backup(path, s);
    return {};
  } catch (const backup_error& e) {
    return e.what();
  }
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

TEST_CASE("AES-256-GCM opens what it sealed and refuses a changed byte, nonce or associated data") {
  auto key = crypto::random_bytes(32);
  auto nonce = crypto::random_bytes(12);
  auto sealed = crypto::aes256gcm_seal(key, nonce, "header", "the records");
  CHECK(sealed.size() == std::string{"the records"}.size() + 16);
  CHECK(crypto::aes256gcm_open(key, nonce, "header", sealed) == std::optional<std::string>{"the records"});
  auto flipped = sealed;
  flipped[3] ^= 1;
  CHECK_FALSE(crypto::aes256gcm_open(key, nonce, "header", flipped));
  CHECK_FALSE(crypto::aes256gcm_open(key, crypto::random_bytes(12), "header", sealed));
  CHECK_FALSE(crypto::aes256gcm_open(key, nonce, "other header", sealed));
  CHECK_FALSE(crypto::aes256gcm_open(crypto::random_bytes(32), nonce, "header", sealed));
}

TEST_CASE("scrypt stretches a passphrase as RFC 7914 says") {
  // RFC 7914 section 12: "password", "NaCl", N=1024, r=8, p=16 (its first 32 bytes).
  CHECK(crypto::to_hex(crypto::scrypt_key("password", "NaCl", 1024, 8, 16))
        == "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162");
}

TEST_CASE("a backup reads back every record it was written with, chunk by chunk, under a key file") {
  test::temp_dir dir;
  auto s = with_key(key_file(dir));
  auto path = dir.path() + "/a.bak";
  auto written = write_backup(path, s, 500);
  CHECK(written.records == 500);
  CHECK(written.chunks > 3); // small chunks: several frames to check
  CHECK(::access((path + ".partial").c_str(), F_OK) != 0);
  backup_reader r{path};
  CHECK(r.header().records == 500);
  CHECK(r.header().cluster == "n1,n2,n3");
  CHECK(r.header().kdf.kind == "key-file");
  r.unlock(make_backup_key(s));
  std::vector<record_delta> all;
  while (r.next(all)) {
  }
  REQUIRE(all.size() == 500);
  CHECK(all[7].id == "r7");
  CHECK(all[7].fields.at(field::data("k")).value == std::string(40, 'h'));
  CHECK(all[7].fields.at(field::data("k")).ts == hlc_stamp{1000, 1, "n1"});
  CHECK(r.summary().digest == written.digest);
  CHECK(r.summary().chunks == written.chunks);
  // The file is not readable as plain text: the values are encrypted.
  CHECK_FALSE(contains(slurp(path), std::string(40, 'h')));
}

TEST_CASE("a backup under a passphrase opens with it and not with another") {
  test::temp_dir dir;
  auto path = dir.path() + "/p.bak";
  write_backup(path, with_passphrase("correct horse battery"), 20);
  CHECK(verify_backup(path, with_passphrase("correct horse battery")).records == 20);
  auto err = verify_error(path, with_passphrase("wrong horse battery"));
  CHECK(contains(err, "wrong key"));
  CHECK(contains(err, "a different passphrase"));
  CHECK(contains(verify_error(path, with_key(key_file(dir))), "written with a passphrase"));
}

TEST_CASE("a wrong key file is told apart from a damaged file") {
  test::temp_dir dir;
  auto path = dir.path() + "/w.bak";
  write_backup(path, with_key(key_file(dir, "a.key")), 10);
  auto err = verify_error(path, with_key(key_file(dir, "b.key")));
  CHECK(contains(err, "wrong key: the backup was written with key "));
}

TEST_CASE("a flipped byte in any chunk fails verify naming that chunk") {
  test::temp_dir dir;
  auto s = with_key(key_file(dir));
  auto path = dir.path() + "/f.bak";
  auto written = write_backup(path, s, 300);
  REQUIRE(written.chunks >= 3);
  auto good = slurp(path);
  // The last byte of the file is the manifest's tag; the middle is inside a data chunk.
  for (auto at : {good.size() / 2, good.size() - 1}) {
    auto bad = good;
    bad[at] = static_cast<char>(bad[at] ^ 0x20);
    spit(path, bad);
    auto err = verify_error(path, s);
    INFO("byte " << at << ": " << err);
    CHECK((contains(err, "chunk ") || contains(err, "the manifest")));
    CHECK(contains(err, "fails its authentication tag"));
  }
  // A changed header changes every frame's associated data.
  auto bad = good;
  auto cut = bad.find("\"cut\":[5000");
  REQUIRE(cut != std::string::npos);
  bad[cut + 7] = '6';
  spit(path, bad);
  CHECK(contains(verify_error(path, s), "chunk 1 fails its authentication tag"));
}

TEST_CASE("a truncated backup fails verify at every length, never reading as whole") {
  test::temp_dir dir;
  auto s = with_key(key_file(dir));
  auto path = dir.path() + "/t.bak";
  write_backup(path, s, 200);
  auto good = slurp(path);
  auto cut_path = dir.path() + "/cut.bak";
  for (size_t len : {size_t{4}, size_t{20}, good.size() / 3, good.size() / 2, good.size() - 17, good.size() - 1}) {
    spit(cut_path, good.substr(0, len));
    auto err = verify_error(cut_path, s);
    INFO(len << " of " << good.size() << " bytes: " << err);
    CHECK_FALSE(err.empty());
    CHECK((contains(err, "truncated") || contains(err, "not a cafmcp backup")));
  }
  spit(cut_path, good + "x");
  CHECK(contains(verify_error(cut_path, s), "follow the manifest"));
}

TEST_CASE("two chunks swapped fail verify") {
  test::temp_dir dir;
  auto s = with_key(key_file(dir));
  auto path = dir.path() + "/s.bak";
  write_backup(path, s, 30, 1); // a chunk per record: frames of one size
  auto bytes = slurp(path);
  // The header ends where the first frame ('D') begins; frames are equal-sized here.
  auto header_len = static_cast<size_t>(static_cast<unsigned char>(bytes[8]))
                    | static_cast<size_t>(static_cast<unsigned char>(bytes[9])) << 8;
  auto first = 12 + header_len;
  auto frame_len = 5 + (static_cast<size_t>(static_cast<unsigned char>(bytes[first + 1]))
                        | static_cast<size_t>(static_cast<unsigned char>(bytes[first + 2])) << 8);
  auto a = bytes.substr(first, frame_len), b = bytes.substr(first + frame_len, frame_len);
  REQUIRE(a.size() == b.size());
  bytes.replace(first, frame_len, b);
  bytes.replace(first + frame_len, frame_len, a);
  spit(path, bytes);
  CHECK(contains(verify_error(path, s), "chunk 1 fails its authentication tag"));
}

TEST_CASE("an unknown format version is refused by name before any key is asked for") {
  test::temp_dir dir;
  auto s = with_key(key_file(dir));
  auto path = dir.path() + "/v.bak";
  write_backup(path, s, 5);
  auto bytes = slurp(path);
  auto at = bytes.find("\"version\":1");
  REQUIRE(at != std::string::npos);
  bytes[at + 10] = '7';
  spit(path, bytes);
  try {
    backup_reader r{path};
    FAIL("read a version 7 backup");
  } catch (const backup_error& e) {
    CHECK(std::string{e.what()} == "the backup is format version 7; this cafmcp reads version 1 only");
  }
  spit(path, "not a backup at all");
  CHECK(contains(verify_error(path, s), "is not a cafmcp backup"));
  // A header whose fields have other types (found by the fuzzer: "format": 2) is refused, not thrown through.
  std::string header = R"({"format":2,"version":1})";
  spit(path, std::string{"CAFMCPBK"} + std::string(1, static_cast<char>(header.size())) + std::string(3, '\0') + header);
  CHECK(verify_error(path, s) == "the backup's header does not parse");
}

TEST_CASE("a key file others may read, or of the wrong length, is refused") {
  test::temp_dir dir;
  auto path = key_file(dir);
  ::chmod(path.c_str(), 0644);
  CHECK_THROWS_WITH_AS(make_backup_key(with_key(path)), doctest::Contains("make it 0600"), backup_error);
  auto short_key = dir.write("short.key", "0123456789");
  ::chmod(short_key.c_str(), 0600);
  CHECK_THROWS_WITH_AS(make_backup_key(with_key(short_key)), doctest::Contains("a backup key is 32 bytes"),
                       backup_error);
  // 64 hex digits (and a newline) are a key too.
  auto hex = dir.write("hex.key", crypto::to_hex(crypto::random_bytes(32)) + "\n");
  ::chmod(hex.c_str(), 0600);
  CHECK(make_backup_key(with_key(hex)).bytes.size() == 32);
  CHECK_THROWS_AS(make_backup_key(backup_secret{}), backup_error);
  CHECK_THROWS_WITH_AS(write_key_file(path), doctest::Contains("cannot create the key file"), backup_error);
}

TEST_CASE("a backup that stops half way leaves no file, and none replaces an existing one") {
  test::temp_dir dir;
  auto s = with_key(key_file(dir));
  auto path = dir.path() + "/h.bak";
  {
    backup_header h;
    h.records = 10;
    backup_writer w{path, h, make_backup_key(s)};
    w.add(record("a", "x"));
    CHECK(::access((path + ".partial").c_str(), F_OK) == 0);
    CHECK_THROWS_WITH_AS(w.finish(), doctest::Contains("the backup is not complete"), backup_error);
  }
  CHECK(::access(path.c_str(), F_OK) != 0);
  CHECK(::access((path + ".partial").c_str(), F_OK) != 0);
  write_backup(path, s, 3);
  CHECK_THROWS_WITH_AS(write_backup(path, s, 3), doctest::Contains("never replaces a file"), backup_error);
}

TEST_CASE("the records' digest does not depend on their order") {
  backup_digest a, b, c;
  a.add(record("x", "1"));
  a.add(record("y", "2"));
  b.add(record("y", "2"));
  b.add(record("x", "1"));
  c.add(record("x", "1"));
  c.add(record("y", "3"));
  CHECK(a.hex() == b.hex());
  CHECK(a.hex() != c.hex());
}

TEST_CASE("a cut reads each record as it was at the cut while later writes replace its values") {
  replica_store store;
  store.merge(record("a", "before", 1000));
  store.merge(record("b", "kept", 1000));
  store.begin_cut(hlc_stamp{2000, 0, ""});
  // Written before the cut (stamped before it) after the cut began: in it.
  record_delta early;
  early.id = "b";
  early.fields[field::data("k")] = field_value{"early", hlc_stamp{1500, 0, "n2"}};
  store.merge(early);
  // Written after the cut: a new value, a new record, a deletion.
  record_delta later;
  later.id = "a";
  later.fields[field::data("k")] = field_value{"after", hlc_stamp{2500, 0, "n1"}};
  later.fields[field::gone] = field_value{"1", hlc_stamp{2600, 0, "n1"}};
  store.merge(later);
  store.merge(record("c", "new", 3000));
  CHECK(store.value("a", field::data("k")) == "after");
  auto a = store.at_cut("a");
  CHECK(a.fields.at(field::data("k")).value == "before");
  CHECK(live_fields(a.fields)); // deleted after the cut: live in it
  CHECK(store.at_cut("b").fields.at(field::data("k")).value == "early");
  CHECK(store.at_cut("c").fields.empty());
  CHECK(store.kept_for_cut() == 1);
  store.end_cut();
  CHECK(store.kept_for_cut() == 0);
}

TEST_CASE("retention keeps the newest scheduled backups and leaves other files alone") {
  using observability::backup_file_name;
  using observability::expired_backups;
  auto oldest = backup_file_name(1'796'000'000'000);
  auto middle = backup_file_name(1'796'000'100'000);
  auto newest = backup_file_name(1'796'000'200'500);
  CHECK(oldest == "cafmcp-backup-20261130T005320000Z.bak");
  std::vector<std::string> names{newest, "notes.txt", oldest, middle, "cafmcp-backup-x.bak.partial", "."};
  CHECK(expired_backups(names, 2) == std::vector<std::string>{oldest});
  CHECK(expired_backups(names, 1) == std::vector<std::string>{oldest, middle});
  CHECK(expired_backups(names, 3).empty());
}
