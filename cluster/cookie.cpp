// The cluster cookie: the shared secret, its file and its proofs.
#include "cluster/cookie.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/crypto.hpp"

namespace cafmcp::cluster {

std::string default_cookie_path() {
  const char* home = std::getenv("HOME");
  return std::string{home && *home ? home : "."} + "/.cafmcp.cookie";
}

std::string load_cookie(const std::string& path, bool create) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT || !create)
      throw std::runtime_error("cannot read the cluster cookie " + path + ": " + std::strerror(errno));
    auto cookie = crypto::to_hex(crypto::random_bytes(32));
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0400);
    if (fd < 0 && errno != EEXIST)
      throw std::runtime_error("cannot create the cluster cookie " + path + ": " + std::strerror(errno));
    if (fd >= 0) {
      auto line = cookie + "\n";
      bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
      ::close(fd);
      if (!ok)
        throw std::runtime_error("cannot write the cluster cookie " + path);
    }
    return load_cookie(path, false); // another process may have won the race: read what is there
  }
  if (st.st_mode & (S_IRWXG | S_IRWXO))
    throw std::runtime_error("the cluster cookie " + path + " is accessible by group or others (chmod 400 " + path
                             + ")");
  std::ifstream in{path};
  if (!in)
    throw std::runtime_error("cannot read the cluster cookie " + path);
  std::stringstream buf;
  buf << in.rdbuf();
  auto cookie = buf.str();
  while (!cookie.empty() && (cookie.back() == '\n' || cookie.back() == '\r' || cookie.back() == ' '))
    cookie.pop_back();
  if (cookie.empty())
    throw std::runtime_error("the cluster cookie " + path + " is empty");
  return cookie;
}

std::string cookie_proof(const std::string& cookie, const std::string& role, const std::string& name,
                         const std::string& nonce) {
  return crypto::to_hex(crypto::hmac_sha256(cookie, role + "|" + name + "|" + nonce));
}

} // namespace cafmcp::cluster
