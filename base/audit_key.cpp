// The audit key: its file, created on first use, refused when others may read it.
#include "base/audit_key.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/crypto.hpp"

namespace cafmcp::audit {

namespace {

std::runtime_error key_error(const std::string& path, const std::string& why) {
  return std::runtime_error("the audit key " + path + " " + why);
}

/// Writes a new random key with O_EXCL: a node racing us for it wins or loses cleanly.
void create_key(const std::string& path) {
  auto line = crypto::to_hex(crypto::random_bytes(32)) + "\n";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST)
      return;
    throw key_error(path, std::string{"cannot be created: "} + std::strerror(errno));
  }
  // Synced: a key lost in a crash would leave every record after it unverifiable.
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
  auto err = errno;
  ::close(fd);
  if (!ok)
    throw key_error(path, std::string{"cannot be written: "} + std::strerror(err));
}

} // namespace

std::string load_audit_key(const std::string& path, bool create) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT || !create)
      throw key_error(path, std::string{"cannot be read: "} + std::strerror(errno));
    create_key(path);
    return load_audit_key(path, false);
  }
  if (!S_ISREG(st.st_mode))
    throw key_error(path, "is not a regular file");
  if (st.st_mode & (S_IRWXG | S_IRWXO))
    throw key_error(path, "is accessible by group or others (chmod 600 " + path + ")");
  std::ifstream in{path};
  if (!in)
    throw key_error(path, std::string{"cannot be read: "} + std::strerror(errno));
  std::stringstream buf;
  buf << in.rdbuf();
  auto text = buf.str();
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
    text.pop_back();
  if (text.empty())
    throw key_error(path, "is empty");
  auto key = crypto::from_hex(text);
  if (text.size() != 64 || !key)
    throw key_error(path, "does not hold 64 hex digits (32 random bytes)");
  return *key;
}

} // namespace cafmcp::audit
