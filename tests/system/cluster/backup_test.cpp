// Encrypted backups of real 3-node clusters, as an operator takes them: `cafmcp backup create | verify |
// restore | test-restore`, a restore into a new cluster, bad files and keys that change nothing, a backup
// under concurrent writes, and the schedule with its retention and alert.

#include <atomic>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <thread>

#include <sys/stat.h>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "base/crypto.hpp"
#include "cluster/backup_file.hpp"
#include "cluster/replica_store.hpp"
#include "tests/support/backup_seed.hpp"
#include "tests/support/cluster_fixture.hpp"
#include "tests/support/mcp_call.hpp"

using namespace cafmcp::test;
using namespace std::chrono_literals;
using nlohmann::json;
namespace cl = cafmcp::cluster;

namespace {

/// `cafmcp backup ARGS…` (through `via` when given), with the test's client flags.
run_result backup(const three_nodes& c, const cluster_node* via, std::vector<std::string> args,
                  std::chrono::seconds limit = 120s) {
  std::vector<std::string> argv{binary, "backup"};
  argv.insert(argv.end(), args.begin(), args.end());
  if (via) {
    argv.insert(argv.end(), {"--node", via->address()});
    auto flags = client_flags(c.dir, c.cookie);
    argv.insert(argv.end(), flags.begin(), flags.end());
  }
  return run(argv, limit);
}

json backup_json(const three_nodes& c, const cluster_node* via, std::vector<std::string> args) {
  args.push_back("--json");
  auto r = backup(c, via, args);
  INFO("cafmcp backup " << args[0] << " → " << r.code << ": " << r.err);
  REQUIRE(r.code == 0);
  auto j = json::parse(r.out, nullptr, false);
  REQUIRE(j.is_object());
  return j;
}

std::string new_key(const temp_dir& dir, const std::string& name = "backup.key") {
  auto path = dir.path() + "/" + name;
  auto r = run({binary, "backup", "keygen", "--out", path});
  INFO(r.err);
  REQUIRE(r.code == 0);
  return path;
}

/// session_get of `handle`'s key k through `port`.
std::string value_of(uint16_t port, const std::string& handle, const std::string& key = "k") {
  auto r = call_tool(port, "session_get", {{"handle", handle}, {"key", key}});
  return ok(r) ? r["result"]["structuredContent"].value("value", "") : "error: " + text_of(r);
}

bool set_value(uint16_t port, const std::string& handle, const std::string& value) {
  return ok(call_tool(port, "session_set", {{"handle", handle}, {"key", "k"}, {"value", value}}));
}

/// Records the cluster's members lead, summed (each record is led by one member).
uint64_t records_led(const three_nodes& c) {
  auto s = status(c.dir, *c.n1, c.cookie);
  REQUIRE(s.code == 0);
  uint64_t n = 0;
  for (auto& r : s.rows)
    n += r["replication"].value("primaries", uint64_t{0});
  return n;
}

/// The records of a backup file, by id.
std::map<std::string, cl::record_delta> read_backup(const std::string& path, const std::string& key_file) {
  cl::backup_secret s;
  s.key_file = key_file;
  cl::backup_reader r{path};
  r.unlock(cl::reopen_backup_key(s, r.header().kdf));
  std::vector<cl::record_delta> records;
  while (r.next(records)) {
  }
  std::map<std::string, cl::record_delta> out;
  for (auto& d : records)
    out[d.id] = d;
  return out;
}

} // namespace

TEST_CASE("100,000 records backed up from one 3-node cluster restore into a new one, equal and served by every node") {
  constexpr size_t seeded = 100000;
  three_nodes a;
  auto key = new_key(a.dir);
  auto seed = a.dir.path() + "/seed.bak";
  write_seed(seed, key, seeded);
  auto restored = backup_json(a, a.n1.get(), {"restore", seed, "--key-file", key});
  CHECK(restored["restored"] == seeded);
  // Real records beside them: handles with values, and legacy sessions.
  std::vector<std::string> handles;
  for (int i = 0; i < 20; ++i) {
    auto h = open_handle(a.n2->http_port);
    REQUIRE(!h.empty());
    REQUIRE(set_value(a.n3->http_port, h, "real-" + std::to_string(i)));
    handles.push_back(h);
  }
  for (int i = 0; i < 5; ++i) {
    auto init = legacy_post(a.n1->http_port, "",
                            {{"jsonrpc", "2.0"}, {"id", 1}, {"method", "initialize"},
                             {"params", {{"protocolVersion", "2025-06-18"}, {"capabilities", json::object()},
                                         {"clientInfo", {{"name", "backup-test"}, {"version", "1"}}}}}});
    REQUIRE(init.status == 200);
  }
  auto total = seeded + handles.size() + 5;
  REQUIRE(records_led(a) == total);
  auto file = a.dir.path() + "/cluster-a.bak";
  auto taken = backup_json(a, a.n2.get(), {"create", "--out", file, "--key-file", key});
  CHECK(taken["summary"]["records"] == total);
  REQUIRE(taken["members"].size() == 3);
  for (auto& m : taken["members"])
    CHECK(m["records"].get<uint64_t>() > 0); // read from every member's primaries
  MESSAGE("backup of " << total << " records: " << taken["seconds"] << " s, " << taken["summary"]["file_bytes"]
                       << " bytes");
  auto verified = backup_json(a, nullptr, {"verify", file, "--key-file", key});
  CHECK(verified["summary"]["digest"] == taken["summary"]["digest"]);
  auto tested = backup(a, nullptr, {"test-restore", file, "--key-file", key});
  INFO(tested.err);
  CHECK(tested.code == 0);
  CHECK(tested.out.find("test-restore: OK, every record came back as it was") != std::string::npos);

  // Every node of cluster A is lost; a new cluster, with its own certificates, gets the file.
  a.n1->proc->signal(SIGKILL);
  a.n2->proc->signal(SIGKILL);
  a.n3->proc->signal(SIGKILL);
  three_nodes b;
  auto into_b = backup_json(b, b.n3.get(), {"restore", file, "--key-file", key});
  CHECK(into_b["restored"] == total);
  CHECK(records_led(b) == total);
  // Every record equal: a backup of B holds the same records (digest over every field and stamp).
  auto key_b = b.dir.path() + "/same.key";
  std::filesystem::copy_file(key, key_b);
  auto again = backup_json(b, b.n1.get(), {"create", "--out", b.dir.path() + "/cluster-b.bak", "--key-file", key_b});
  CHECK(again["summary"]["records"] == total);
  CHECK(again["summary"]["digest"] == taken["summary"]["digest"]);
  // Served through every node of B.
  for (auto* n : {b.n1.get(), b.n2.get(), b.n3.get()}) {
    for (size_t i = 0; i < handles.size(); ++i)
      CHECK(value_of(n->http_port, handles[i]) == "real-" + std::to_string(i));
    for (size_t i = 0; i < seeded; i += 997)
      if (i % 10 != 9 && i % 3 != 2)
        CHECK(value_of(n->http_port, "seed" + std::to_string(i)) == "value-" + std::to_string(i));
  }
}

TEST_CASE("a flipped byte, a truncated file, a wrong key or passphrase fail verify and restore by name and change nothing") {
  three_nodes c;
  auto key = new_key(c.dir);
  std::vector<std::string> handles;
  for (int i = 0; i < 10; ++i) {
    handles.push_back(open_handle(c.n1->http_port));
    REQUIRE(set_value(c.n1->http_port, handles.back(), "old"));
  }
  auto file = c.dir.path() + "/good.bak";
  backup_json(c, c.n1.get(), {"create", "--out", file, "--key-file", key});
  auto pass = c.dir.write("pass", "correct horse battery staple\n");
  ::chmod(pass.c_str(), 0600);
  auto wrong_pass = c.dir.write("wrong-pass", "incorrect horse battery staple\n");
  ::chmod(wrong_pass.c_str(), 0600);
  auto pfile = c.dir.path() + "/pass.bak";
  backup_json(c, c.n2.get(), {"create", "--out", pfile, "--passphrase-file", pass});
  // Written after the backups: a restore must not undo them (it would if it ran).
  for (auto& h : handles)
    REQUIRE(set_value(c.n2->http_port, h, "new"));
  auto before = records_led(c);

  auto bytes = read_file(file);
  auto flipped = c.dir.path() + "/flipped.bak";
  {
    auto bad = bytes;
    bad[bad.size() / 2] = static_cast<char>(bad[bad.size() / 2] ^ 0x01);
    std::ofstream{flipped, std::ios::binary} << bad;
  }
  auto truncated = c.dir.path() + "/truncated.bak";
  std::ofstream{truncated, std::ios::binary} << bytes.substr(0, bytes.size() - 40);
  auto other_key = new_key(c.dir, "other.key");
  struct bad_case {
    std::string what, file;
    std::vector<std::string> key;
    std::string message;
  };
  std::vector<bad_case> cases{
    {"flipped byte", flipped, {"--key-file", key}, "chunk 1 fails its authentication tag"},
    {"truncated", truncated, {"--key-file", key}, "the backup is truncated"},
    {"wrong key", file, {"--key-file", other_key}, "wrong key: the backup was written with key "},
    {"wrong passphrase", pfile, {"--passphrase-file", wrong_pass}, "(a different passphrase)"},
  };
  for (auto& k : cases) {
    for (std::string verb : {"verify", "restore"}) {
      std::vector<std::string> args{verb, k.file};
      args.insert(args.end(), k.key.begin(), k.key.end());
      if (verb == "restore")
        args.push_back("--overwrite");
      auto r = backup(c, verb == "restore" ? c.n3.get() : nullptr, args);
      INFO(k.what << ", " << verb << ": " << r.code << " " << r.err);
      CHECK(r.code == 1);
      CHECK(r.err.find(k.message) != std::string::npos);
      CHECK(r.out.empty());
    }
  }
  CHECK(records_led(c) == before);
  for (auto& h : handles)
    CHECK(value_of(c.n3->http_port, h) == "new");
  auto tested = backup(c, nullptr, {"test-restore", flipped, "--key-file", key});
  CHECK(tested.code == 1);
  CHECK(tested.err.find("chunk 1 fails its authentication tag") != std::string::npos);

  // The good file: newer values in the cluster win, unless --overwrite.
  backup_json(c, c.n3.get(), {"restore", file, "--key-file", key});
  for (auto& h : handles)
    CHECK(value_of(c.n1->http_port, h) == "new");
  backup_json(c, c.n3.get(), {"restore", pfile, "--passphrase-file", pass, "--overwrite"});
  for (auto& h : handles)
    CHECK(value_of(c.n1->http_port, h) == "old");
  CHECK(records_led(c) == before);
  // Each backup is in every member's audit log (its cut), each restore in
  // the log of the member it went through, with who asked.
  auto audit = read_file(c.dir.path() + "/n1.audit.jsonl");
  CHECK(audit.find(R"("op":"backup_cut")") != std::string::npos);
  CHECK(audit.find("backup by admin to " + file) != std::string::npos);
  auto restores = read_file(c.dir.path() + "/n3.audit.jsonl");
  CHECK(restores.find(R"("op":"restore")") != std::string::npos);
  CHECK(restores.find("restore by admin from " + pfile + " (overwrite)") != std::string::npos);
  CHECK(restores.find(R"("who":"CN=admin,OU=admin")") != std::string::npos);
}

TEST_CASE("a backup older than tombstone_ttl restores every record (a restore is not a stale copy)") {
  three_nodes c;
  auto key = new_key(c.dir);
  auto old = c.dir.path() + "/old.bak";
  write_seed(old, key, 300, 3LL * 24 * 60 * 60 * 1000); // three days; tombstone_ttl is one
  auto before = records_led(c);
  auto r = backup_json(c, c.n2.get(), {"restore", old, "--key-file", key});
  CHECK(r["restored"] == 300);
  CHECK(records_led(c) == before + 300);
  for (auto* n : {c.n1.get(), c.n2.get(), c.n3.get()})
    CHECK(value_of(n->http_port, "seed0") == "value-0");
}

TEST_CASE("a backup taken while writers run holds every write acknowledged before it started") {
  three_nodes c;
  auto key = new_key(c.dir);
  constexpr int writers = 4;
  std::vector<std::string> handles;
  for (int i = 0; i < writers; ++i)
    handles.push_back(open_handle(c.n1->http_port));
  std::vector<std::atomic<int64_t>> acked(writers);
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < writers; ++i)
    threads.emplace_back([&, i] {
      auto port = std::vector<uint16_t>{c.n1->http_port, c.n2->http_port, c.n3->http_port}[i % 3];
      for (int64_t v = 1; !stop && v < 1000000; ++v)
        if (set_value(port, handles[i], std::to_string(v)))
          acked[i] = v;
    });
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (acked[writers - 1] < 50 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  std::vector<int64_t> before(writers);
  for (int i = 0; i < writers; ++i)
    before[i] = acked[i];
  auto file = c.dir.path() + "/during.bak";
  auto taken = backup_json(c, c.n2.get(), {"create", "--out", file, "--key-file", key});
  std::vector<int64_t> after(writers);
  for (int i = 0; i < writers; ++i)
    after[i] = acked[i];
  stop = true;
  for (auto& t : threads)
    t.join();
  auto records = read_backup(file, key);
  for (int i = 0; i < writers; ++i) {
    REQUIRE(records.count(handles[i]) == 1);
    auto value = std::stoll(records[handles[i]].fields.at(cl::field::data("k")).value);
    INFO("writer " << i << ": acknowledged " << before[i] << " before the backup, " << after[i]
                   << " when it ended; the backup holds " << value);
    CHECK(value >= before[i]);
    CHECK(value <= after[i] + 1); // a write under way at the end may be in it, unacknowledged
  }
  uint64_t kept = 0;
  for (auto& m : taken["members"])
    kept += m["kept_for_cut"].get<uint64_t>();
  MESSAGE("values kept aside for the cut while writers ran: " << kept);
}

TEST_CASE("scheduled backups - a file per interval, retention deletes the oldest, a failure raises the backup alert") {
  temp_dir dir;
  auto cookie = write_cookie(dir, "cookie", "test-cookie-0123456789");
  auto key = new_key(dir);
  auto bk = dir.path() + "/backups";
  std::filesystem::create_directory(bk);
  auto config = dir.write("node.json", R"({
    "cluster": {"heartbeat_ms": 200},
    "backup": {"enabled": true, "interval_ms": 1500, "directory": ")" + bk + R"(", "retention": 2,
               "key_file": ")" + key + R"(", "retry_initial_ms": 300, "retry_max_ms": 1000}
  })");
  cluster_node n1{dir, "n1", cookie, config};
  auto success = std::regex{R"(\S+ info +n1 /root/observability_sup/backup_schedule: scheduled backup )" + bk
                            + R"(/(cafmcp-backup-\d{8}T\d{9}Z\.bak): \d+ records)"};
  auto deleted = std::regex{R"(\S+ info +n1 /root/observability_sup/backup_schedule: deleted the old backup )" + bk
                            + R"(/(cafmcp-backup-\d{8}T\d{9}Z\.bak) \(backup\.retention 2\))"};
  auto first_deleted = n1.proc->wait_for_stderr_line(deleted, 30s);
  REQUIRE(first_deleted);
  auto on_disk = [&] {
    std::set<std::string> files;
    for (auto& e : std::filesystem::directory_iterator(bk))
      if (e.path().extension() == ".bak")
        files.insert(e.path().filename());
    return files;
  };
  auto files = on_disk();
  // What the log says should be there: every success, less every deletion.
  std::vector<std::string> succeeded;
  std::set<std::string> removed;
  {
    std::istringstream lines{n1.proc->err()};
    std::string line;
    std::smatch m;
    while (std::getline(lines, line)) {
      if (std::regex_match(line, m, success))
        succeeded.push_back(m[1]);
      else if (std::regex_match(line, m, deleted))
        removed.insert(m[1]);
    }
  }
  REQUIRE(succeeded.size() >= 3);
  CHECK(removed.count(succeeded[0]) == 1); // the oldest went first
  std::set<std::string> kept;
  for (auto& s : succeeded)
    if (!removed.count(s))
      kept.insert(s);
  CHECK(kept.size() == 2);
  for (auto& k : kept)
    CHECK(files.count(k) == 1);
  CHECK(files.count(succeeded[0]) == 0);
  CHECK(files.size() <= kept.size() + 1); // at most one more: a backup finished since the log was read
  // Each file is a whole backup.
  for (auto& k : kept)
    if (files.count(k))
      CHECK(run({binary, "backup", "verify", bk + "/" + k, "--key-file", key}).code == 0);

  // A key nobody may use any more fails the schedule: the alert is raised, then cleared once it works.
  ::chmod(key.c_str(), 0644);
  REQUIRE(n1.proc->wait_for_stderr_line(
    std::regex{R"(\S+ warning +n1 /root/observability_sup/web: alert raised: backup \(\d+ scheduled backup\(s\) failed in a row: the key file .* may be read by others .*\))"},
    30s));
  auto health = json::parse(http_request(n1.web_port, "GET", "/health", {}).body, nullptr, false);
  REQUIRE(health.is_object());
  bool alerted = false;
  for (auto& a : health["alerts"])
    alerted = alerted || a["name"] == "backup";
  CHECK(alerted);
  CHECK(metric(n1.web_port, R"(cafmcp_alert_active\{alert="backup"\})") == 1);
  ::chmod(key.c_str(), 0600);
  REQUIRE(n1.proc->wait_for_stderr_line(
    std::regex{R"(\S+ info +n1 /root/observability_sup/web: alert cleared: backup \(last scheduled backup: .*\))"}, 30s));
}
