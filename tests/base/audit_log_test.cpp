// The audit log: a keyed chain of JSON lines, each on disk before its writer answers (base/audit_log.hpp).

#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>

#include <sys/stat.h>
#include <unistd.h>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "base/audit_log.hpp"
#include "base/crypto.hpp"
#include "tests/support/actor_fixture.hpp"

using namespace cafmcp;
using namespace cafmcp::audit;
using namespace cafmcp::test;

namespace {

const std::string key = crypto::random_bytes(32);

struct log_fixture : fixture {
  std::string dir = [] {
    char tmpl[] = "/tmp/cafmcp-audit-XXXXXX";
    return std::string{::mkdtemp(tmpl)};
  }();
  std::string path = dir + "/audit.jsonl";

  ~log_fixture() {
    for (auto p : {path, path + ".away", path + ".copy"}) {
      std::remove(p.c_str());
      ::rmdir(p.c_str());
    }
    ::rmdir(dir.c_str());
  }

  caf::actor writer() {
    auto w = spawn_audit_log(sys, path, key);
    REQUIRE_MESSAGE(w, sys.render(w.error()));
    cleanup.push_back(*w);
    return *w;
  }

  /// The writer's answer to one record: none once it is written.
  caf::error append(const caf::actor& w, const std::string& target) {
    caf::error out;
    self->request(w, wait_limit, audit_record_atom::value, audit_record{"dave@h", "kill", target, "ok"})
      .receive([] {}, [&](caf::error& e) { out = std::move(e); });
    return out;
  }

  std::vector<std::string> lines() const {
    std::ifstream in{path};
    std::vector<std::string> out;
    for (std::string l; std::getline(in, l);)
      out.push_back(l);
    return out;
  }
};

audit_verdict verdict(const std::vector<std::string>& ls, const std::string& under = key) {
  std::stringstream s;
  for (auto& l : ls)
    s << l << '\n';
  return verify_audit_log(s, under);
}

/// Rewrites `ls` from line index `from` on as a forger would: the changed
/// content kept, every `prev` and `mac` recomputed with `mac_of`.
std::vector<std::string> rechain(std::vector<std::string> ls, size_t from,
                                 const std::function<std::string(const std::string&)>& mac_of) {
  auto prev = from == 0 ? audit_genesis : nlohmann::json::parse(ls[from - 1])["mac"].get<std::string>();
  for (auto i = from; i < ls.size(); ++i) {
    auto j = nlohmann::json::parse(ls[i]);
    j.erase("mac");
    j["prev"] = prev;
    auto body = j.dump();
    prev = mac_of(body);
    body.pop_back();
    ls[i] = body + ",\"mac\":\"" + prev + "\"}";
  }
  return ls;
}

} // namespace

TEST_CASE("an audit record is one JSON line with time, who, op, target, result, the previous line's mac and its own") {
  auto line = audit_line({"carol@h", "kill", "/root/x", "ok"}, 1795000000123, audit_genesis, key);
  CHECK(line.find('\n') == std::string::npos);
  auto j = nlohmann::json::parse(line);
  CHECK(j["time"] == "2026-11-18T11:06:40.123Z");
  CHECK(j["who"] == "carol@h");
  CHECK(j["op"] == "kill");
  CHECK(j["target"] == "/root/x");
  CHECK(j["result"] == "ok");
  CHECK(j["prev"] == std::string(64, '0'));
  // The mac is the line's last member, over the line without it.
  auto mac = j["mac"].get<std::string>();
  REQUIRE(mac.size() == 64);
  auto suffix = ",\"mac\":\"" + mac + "\"}";
  CHECK(line.substr(line.size() - suffix.size()) == suffix);
  j.erase("mac");
  CHECK(mac == crypto::to_hex(crypto::hmac_sha256(key, j.dump())));
}

TEST_CASE_FIXTURE(log_fixture, "each record is in the file when its writer answers - chained across restarts of the writer") {
  for (int round = 0; round < 2; ++round) { // the second writer continues the first one's chain
    auto w = writer();
    for (int i = 0; i < 3; ++i) {
      REQUIRE(append(w, "/root/x" + std::to_string(i)) == caf::none);
      auto ls = lines(); // read back at once: written (and synced) before the answer
      REQUIRE(ls.size() == static_cast<size_t>(round * 3 + i + 1));
      CHECK(nlohmann::json::parse(ls.back())["target"] == "/root/x" + std::to_string(i));
    }
    self->send_exit(w, caf::exit_reason::user_shutdown);
  }
  std::ifstream in{path};
  auto v = verify_audit_log(in, key);
  CHECK(v.records == 6);
  CHECK(v.broken_line == 0);
}

TEST_CASE_FIXTURE(log_fixture, "a line changed, removed, inserted or garbled breaks the chain where it happened") {
  auto w = writer();
  for (int i = 0; i < 6; ++i)
    REQUIRE(append(w, "/root/x" + std::to_string(i)) == caf::none);
  auto ls = lines();
  REQUIRE(verdict(ls).broken_line == 0);
  auto changed = ls;
  changed[2].replace(changed[2].find("\"ok\""), 4, "\"no\"");
  auto c = verdict(changed);
  CHECK(c.broken_line == 3);
  CHECK(c.why.find("its mac does not match") != std::string::npos);
  auto removed = ls;
  removed.erase(removed.begin() + 1);
  CHECK(verdict(removed).broken_line == 2);
  auto inserted = ls;
  inserted.insert(inserted.begin() + 3, ls[0]);
  CHECK(verdict(inserted).broken_line == 4);
  auto garbage = ls;
  garbage[5] = "not json";
  auto g = verdict(garbage);
  CHECK(g.broken_line == 6);
  CHECK(g.why == "not a JSON object");
  CHECK(verdict({}).records == 0);
}

TEST_CASE_FIXTURE(log_fixture, "a line changed and the chain recomputed without the key fails verify - with plain SHA-256 or another key") {
  auto w = writer();
  for (int i = 0; i < 4; ++i)
    REQUIRE(append(w, "/root/x" + std::to_string(i)) == caf::none);
  auto ls = lines();
  ls[1].replace(ls[1].find("\"ok\""), 4, "\"no\"");
  // The forger's chain is consistent in itself …
  auto sha = rechain(ls, 1, [](const std::string& body) { return crypto::sha256_hex(body); });
  auto other_key = crypto::random_bytes(32);
  auto under_other_key = [&](const std::string& body) { return crypto::to_hex(crypto::hmac_sha256(other_key, body)); };
  auto keyed = rechain(ls, 1, under_other_key);
  CHECK(verdict(rechain(ls, 0, under_other_key), other_key).broken_line == 0);
  // … but not under the node's key: it breaks at the changed line.
  auto s = verdict(sha);
  CHECK(s.broken_line == 2);
  CHECK(s.why.find("its mac does not match its content under this key") != std::string::npos);
  CHECK(verdict(keyed).broken_line == 2);
  // Rewriting the whole file from the first line does not help either.
  CHECK(verdict(rechain(ls, 0, [](const std::string& body) { return crypto::sha256_hex(body); })).broken_line == 1);
  // The untouched log verifies only under its own key.
  CHECK(verdict(lines(), other_key).broken_line == 1);
}

TEST_CASE_FIXTURE(log_fixture, "the writer answers an error naming the file when the log has become a directory - and writes again once it is a file") {
  auto w = writer();
  REQUIRE(append(w, "/root/a") == caf::none);
  // Replaced by something unwritable (a directory: root cannot write there either).
  REQUIRE(std::rename(path.c_str(), (path + ".away").c_str()) == 0);
  REQUIRE(::mkdir(path.c_str(), 0700) == 0);
  auto err = append(w, "/root/b");
  REQUIRE(err != caf::none);
  CHECK_MESSAGE(sys.render(err).find("the audit log " + path + " cannot be written: open: Is a directory")
                  != std::string::npos,
                sys.render(err));
  // Writable again: the writer continues the same file's chain.
  REQUIRE(::rmdir(path.c_str()) == 0);
  REQUIRE(std::rename((path + ".away").c_str(), path.c_str()) == 0);
  REQUIRE(append(w, "/root/c") == caf::none);
  auto ls = lines();
  REQUIRE(ls.size() == 2);
  CHECK(nlohmann::json::parse(ls[1])["target"] == "/root/c");
  CHECK(verdict(ls).broken_line == 0);
  // A log rotated away: the new file starts a chain of its own.
  REQUIRE(std::rename(path.c_str(), (path + ".copy").c_str()) == 0);
  REQUIRE(append(w, "/root/d") == caf::none);
  CHECK(lines().size() == 1);
  CHECK(verdict(lines()).broken_line == 0);
}

TEST_CASE_FIXTURE(log_fixture, "a torn last line stays visible - the next writer starts on a new line") {
  {
    auto w = writer();
    REQUIRE(append(w, "/root/x") == caf::none);
    self->send_exit(w, caf::exit_reason::user_shutdown);
  }
  {
    std::ofstream out{path, std::ios::app};
    out << "{\"time\": \"2026-";
  }
  auto w = writer();
  REQUIRE(append(w, "/root/y") == caf::none);
  CHECK(lines().size() == 3); // the record after the torn line is on a line of its own
  auto v = verdict(lines());
  CHECK(v.broken_line == 2);
  CHECK(v.why == "not a JSON object");
}

TEST_CASE_FIXTURE(fixture, "an audit log that cannot be opened, or has no key, fails its writer's start") {
  auto missing = spawn_audit_log(sys, "/nonexistent-dir/audit.jsonl", key);
  REQUIRE_FALSE(missing);
  CHECK(sys.render(missing.error()).find("cannot open the audit log /nonexistent-dir/audit.jsonl") != std::string::npos);
  auto keyless = spawn_audit_log(sys, "/tmp/unused.audit.jsonl", "");
  REQUIRE_FALSE(keyless);
  CHECK(sys.render(keyless.error()).find("no audit key") != std::string::npos);
}
