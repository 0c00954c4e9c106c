// The audit key: created 0600 on first use, refused when broken or readable by others (base/audit_key.hpp).

#include <cstdio>
#include <fstream>
#include <stdexcept>

#include <sys/stat.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include "base/audit_key.hpp"

using namespace cafmcp::audit;

namespace {

struct key_dir {
  std::string dir = [] {
    char tmpl[] = "/tmp/cafmcp-key-XXXXXX";
    return std::string{::mkdtemp(tmpl)};
  }();
  std::string path = dir + "/audit.jsonl.key";

  ~key_dir() {
    std::remove(path.c_str());
    ::rmdir(dir.c_str());
  }

  void write(const std::string& content, mode_t mode) const {
    std::ofstream{path} << content;
    ::chmod(path.c_str(), mode);
  }
};

/// The message load_audit_key throws ("" when it does not).
std::string refusal(const std::string& path, bool create = false) {
  try {
    load_audit_key(path, create);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

} // namespace

TEST_CASE("an audit key is created on first use as 64 hex digits, mode 0600 - and read back the same") {
  key_dir d;
  auto created = load_audit_key(d.path, true);
  CHECK(created.size() == 32);
  struct stat st {};
  REQUIRE(::stat(d.path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  std::ifstream in{d.path};
  std::string text;
  std::getline(in, text);
  CHECK(text.size() == 64);
  CHECK(load_audit_key(d.path, false) == created);
  CHECK(load_audit_key(d.path, true) == created); // an existing key is never replaced
}

TEST_CASE("an audit key that is missing, empty, not 64 hex digits or readable by others is refused, naming the file") {
  key_dir d;
  CHECK(refusal(d.path) == "the audit key " + d.path + " cannot be read: No such file or directory");
  d.write("", 0600);
  CHECK(refusal(d.path) == "the audit key " + d.path + " is empty");
  d.write("0123abcd\n", 0600);
  CHECK(refusal(d.path).find(d.path + " does not hold 64 hex digits") != std::string::npos);
  d.write(std::string(63, 'a') + "g\n", 0600);
  CHECK(refusal(d.path).find(d.path + " does not hold 64 hex digits") != std::string::npos);
  d.write(std::string(64, 'a') + "\n", 0640);
  CHECK(refusal(d.path) == "the audit key " + d.path + " is accessible by group or others (chmod 600 " + d.path + ")");
  d.write(std::string(64, 'A') + "\n", 0600);
  CHECK(load_audit_key(d.path, false) == std::string(32, '\xaa'));
  CHECK(refusal(d.dir + "/no-such-dir/k", true).find(d.dir + "/no-such-dir/k cannot be created") != std::string::npos);
}
