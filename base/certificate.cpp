// X.509 certificates (OpenSSL 3): the CA, node and client certificates, their files, and their checks.
#include "base/certificate.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <sstream>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base/crypto.hpp"
#include "base/openssl_ptr.hpp"

namespace cafmcp::certs {

namespace {

using ossl::bio_ptr;
using ossl::bn_ptr;
using ossl::md_ctx_ptr;
using ossl::pkey_ptr;
using x509_ptr = ossl::ptr<X509, X509_free>;
using store_ptr = ossl::ptr<X509_STORE, X509_STORE_free>;
using store_ctx_ptr = ossl::ptr<X509_STORE_CTX, X509_STORE_CTX_free>;
using ext_ptr = ossl::ptr<X509_EXTENSION, X509_EXTENSION_free>;
using names_ptr = ossl::ptr<GENERAL_NAMES, GENERAL_NAMES_free>;

/// OpenSSL's error queue as one line, emptied so that the next call starts clean.
std::string openssl_why() {
  std::string why;
  while (auto e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!why.empty())
      why += "; ";
    why += buf;
  }
  return why.empty() ? "unknown OpenSSL error" : why;
}

[[noreturn]] void fail(const std::string& what) {
  throw cert_error(what + ": " + openssl_why());
}

/// Names go into file names and subjects: nothing that could leave the
/// directory or need quoting.
void check_name(const std::string& what, const std::string& name) {
  bool ok = !name.empty() && name.size() <= 64 && name != "." && name != ".."
            && std::all_of(name.begin(), name.end(), [](unsigned char c) {
                 return std::isalnum(c) || c == '.' || c == '_' || c == '-';
               });
  if (!ok)
    throw cert_error("bad " + what + " '" + name + "': use 1 to 64 of A-Z a-z 0-9 . _ -");
}

bool is_ip_address(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

bool is_dns_name(const std::string& host) {
  return !host.empty() && host.size() <= 253 && host.front() != '.' && host.front() != '-'
         && std::all_of(host.begin(), host.end(),
                        [](unsigned char c) { return std::isalnum(c) || c == '.' || c == '-'; });
}

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

/// `dir` and its missing parents, each created 0700: keys live there.
void ensure_dir(const std::string& dir) {
  if (dir.empty())
    throw cert_error("no certificates directory given");
  for (size_t pos = 1; pos <= dir.size(); ++pos) {
    if (pos != dir.size() && dir[pos] != '/')
      continue;
    auto part = dir.substr(0, pos);
    if (::mkdir(part.c_str(), 0700) != 0 && errno != EEXIST)
      throw cert_error(part + ": cannot create directory: " + std::strerror(errno));
  }
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw cert_error(dir + ": not a directory");
}

/// Writes `content` to a temporary file beside `path` with `mode` set before
/// any byte is written (a key is never readable by others, not even half
/// written), then moves it into place: replacing `path`, or with `replace`
/// false failing if `path` exists (link() does not overwrite).
void write_file(const std::string& path, const std::string& content, mode_t mode, bool replace) {
  std::string tmp = path + ".tmp-XXXXXX";
  int fd = ::mkstemp(tmp.data());
  if (fd < 0)
    throw cert_error(path + ": cannot create: " + std::strerror(errno));
  auto give_up = [&](const std::string& why) {
    int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    throw cert_error(path + ": " + why + ": " + std::strerror(err));
  };
  if (::fchmod(fd, mode) != 0)
    give_up("cannot set its mode");
  for (size_t done = 0; done < content.size();) {
    auto n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      give_up("cannot write");
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0)
    give_up("cannot sync");
  ::close(fd);
  int rc = replace ? ::rename(tmp.c_str(), path.c_str()) : ::link(tmp.c_str(), path.c_str());
  int err = errno;
  if (!replace || rc != 0)
    ::unlink(tmp.c_str());
  if (rc != 0)
    throw cert_error(path + (err == EEXIST ? ": exists already, not replaced" : ": cannot write: " + std::string{std::strerror(err)}));
}

pkey_ptr new_key() {
  pkey_ptr key{EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")};
  if (!key)
    fail("cannot generate an ECDSA P-256 key");
  return key;
}

std::string key_to_pem(EVP_PKEY* key) {
  bio_ptr bio{BIO_new(BIO_s_mem())};
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    fail("cannot encode the private key");
  char* data = nullptr;
  auto len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string cert_to_pem(X509* cert) {
  bio_ptr bio{BIO_new(BIO_s_mem())};
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1)
    fail("cannot encode the certificate");
  char* data = nullptr;
  auto len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

bio_ptr read_bio(const std::string& pem) {
  bio_ptr bio{BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))};
  if (!bio)
    fail("out of memory");
  return bio;
}

x509_ptr parse_cert(const std::string& pem) {
  auto bio = read_bio(pem);
  x509_ptr cert{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)};
  return cert;
}

pkey_ptr parse_key(const std::string& pem) {
  auto bio = read_bio(pem);
  return pkey_ptr{PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)};
}

x509_ptr load_cert(const std::string& path) {
  auto cert = parse_cert(read_file(path));
  if (!cert)
    fail(path + ": not a PEM certificate");
  return cert;
}

pkey_ptr load_key(const std::string& path) {
  auto key = parse_key(read_file(path));
  if (!key)
    fail(path + ": not a PEM private key");
  return key;
}

std::string entry_text(X509_NAME* name, int nid) {
  int i = X509_NAME_get_index_by_NID(name, nid, -1);
  if (i < 0)
    return {};
  unsigned char* utf8 = nullptr;
  int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
  if (len < 0)
    return {};
  std::string out(reinterpret_cast<char*>(utf8), static_cast<size_t>(len));
  OPENSSL_free(utf8);
  return out;
}

identity identity_of(X509* cert) {
  identity id;
  auto* subject = X509_get_subject_name(cert);
  id.name = entry_text(subject, NID_commonName);
  id.role = entry_text(subject, NID_organizationalUnitName);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(cert, EVP_sha256(), md, &len) != 1)
    fail("cannot hash the certificate");
  id.fingerprint = crypto::to_hex(std::string(reinterpret_cast<char*>(md), len));
  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) == 1)
    id.not_after = static_cast<int64_t>(timegm(&tm));
  return id;
}

void add_ext(X509* cert, X509V3_CTX& ctx, int nid, const char* value) {
  ext_ptr ext{X509V3_EXT_conf_nid(nullptr, &ctx, nid, value)};
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1)
    fail(std::string{"cannot add the extension "} + OBJ_nid2sn(nid) + "=" + value);
}

void add_subject_alt_names(X509* cert, const std::vector<std::string>& hosts) {
  names_ptr names{GENERAL_NAMES_new()};
  if (!names)
    fail("out of memory");
  for (auto& host : hosts) {
    int type = is_ip_address(host) ? GEN_IPADD : GEN_DNS;
    GENERAL_NAME* gn = a2i_GENERAL_NAME(nullptr, nullptr, nullptr, type, host.c_str(), 0);
    if (!gn || sk_GENERAL_NAME_push(names.get(), gn) == 0) {
      GENERAL_NAME_free(gn);
      fail("cannot add host " + host);
    }
  }
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) != 1)
    fail("cannot add the subjectAltName");
}

struct cert_request {
  std::string common_name;
  std::string unit; // OU; empty for the CA
  EVP_PKEY* key = nullptr;      // the subject's key
  X509* issuer = nullptr;       // null: self-signed
  EVP_PKEY* issuer_key = nullptr;
  int days = 365;
  bool ca = false;
  std::vector<std::string> hosts;
};

x509_ptr make_cert(const cert_request& req) {
  if (req.days <= 0)
    throw cert_error("a certificate must be valid for at least one day");
  x509_ptr cert{X509_new()};
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1)
    fail("cannot create a certificate");
  // A random 128-bit serial: unique without a counter to keep between runs.
  auto serial_bytes = crypto::random_bytes(16);
  bn_ptr serial{BN_bin2bn(reinterpret_cast<const unsigned char*>(serial_bytes.data()), 16, nullptr)};
  if (!serial || !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())))
    fail("cannot set the serial number");
  // An hour back: a member whose clock is a little behind accepts it at once.
  if (!X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600)
      || !X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(req.days) * 86400L))
    fail("cannot set the validity");
  auto* subject = X509_get_subject_name(cert.get());
  auto add_entry = [&](const char* field, const std::string& value) {
    if (X509_NAME_add_entry_by_txt(subject, field, MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(value.c_str()),
                                   -1, -1, 0)
        != 1)
      fail(std::string{"cannot set the subject's "} + field);
  };
  add_entry("O", "cafmcp");
  if (!req.unit.empty())
    add_entry("OU", req.unit);
  add_entry("CN", req.common_name);
  X509* issuer = req.issuer ? req.issuer : cert.get();
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer)) != 1
      || X509_set_pubkey(cert.get(), req.key) != 1)
    fail("cannot set the issuer or the public key");
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert.get(), nullptr, nullptr, 0);
  add_ext(cert.get(), ctx, NID_subject_key_identifier, "hash");
  if (req.ca) {
    add_ext(cert.get(), ctx, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(cert.get(), ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    // The key identifier lets a store holding an old and a new CA (rotation)
    // pick the one that signed this certificate.
    add_ext(cert.get(), ctx, NID_authority_key_identifier, "keyid:always");
    add_ext(cert.get(), ctx, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(cert.get(), ctx, NID_key_usage, "critical,digitalSignature,keyEncipherment,keyAgreement");
    // Both: caf_openssl presents the same certificate when it accepts and
    // when it connects.
    add_ext(cert.get(), ctx, NID_ext_key_usage, "serverAuth,clientAuth");
    if (!req.hosts.empty())
      add_subject_alt_names(cert.get(), req.hosts);
  }
  if (X509_sign(cert.get(), req.issuer ? req.issuer_key : req.key, EVP_sha256()) <= 0)
    fail("cannot sign the certificate");
  return cert;
}

/// Writes a new key and its certificate signed by the CA in `dir`.
void issue(const std::string& dir, const std::string& ca_key_file, cert_request req, const std::string& cert_file,
           const std::string& key_file) {
  auto ca_file = ca_cert_path(dir);
  auto ca_cert = load_cert(ca_file);
  auto ca_key = load_key(ca_key_file);
  if (EVP_PKEY_eq(X509_get0_pubkey(ca_cert.get()), ca_key.get()) != 1) {
    ERR_clear_error();
    throw cert_error(ca_key_file + ": not the private key of " + ca_file);
  }
  auto key = new_key();
  req.key = key.get();
  req.issuer = ca_cert.get();
  req.issuer_key = ca_key.get();
  auto cert = make_cert(req);
  // The key first: a certificate on disk always has its key beside it.
  write_file(key_file, key_to_pem(key.get()), 0600, true);
  write_file(cert_file, cert_to_pem(cert.get()), 0644, true);
}

} // namespace

bool is_client_role(const std::string& role) {
  return role == "admin" || role == "viewer";
}

std::string default_certs_dir() {
  const char* home = std::getenv("HOME");
  return std::string{home && *home ? home : "."} + "/.cafmcp/certs";
}

std::string ca_cert_path(const std::string& dir) {
  return dir + "/ca.crt";
}

std::string ca_key_path(const std::string& dir) {
  return dir + "/ca.key";
}

std::string node_cert_path(const std::string& dir, const std::string& name) {
  return dir + "/node." + name + ".crt";
}

std::string node_key_path(const std::string& dir, const std::string& name) {
  return dir + "/node." + name + ".key";
}

std::string client_cert_path(const std::string& dir, const std::string& user) {
  return dir + "/client." + user + ".crt";
}

std::string client_key_path(const std::string& dir, const std::string& user) {
  return dir + "/client." + user + ".key";
}

void create_ca(const std::string& dir, int days) {
  ensure_dir(dir);
  auto cert_file = ca_cert_path(dir);
  auto key_file = ca_key_path(dir);
  for (auto& f : {cert_file, key_file})
    if (exists(f))
      throw cert_error(f + ": exists already; a new CA would orphan every certificate it signed");
  auto key = new_key();
  // A random suffix keeps two CAs apart by name too, when a store holds the
  // old and the new one during a rotation.
  cert_request req;
  req.common_name = "cafmcp-ca-" + crypto::to_hex(crypto::random_bytes(4));
  req.key = key.get();
  req.days = days;
  req.ca = true;
  auto cert = make_cert(req);
  write_file(key_file, key_to_pem(key.get()), 0600, false);
  try {
    write_file(cert_file, cert_to_pem(cert.get()), 0644, false);
  } catch (...) {
    ::unlink(key_file.c_str()); // ours, written just now: no half CA left behind
    throw;
  }
}

void create_node(const std::string& dir, const std::string& ca_key, const std::string& name,
                 const std::vector<std::string>& hosts, int days) {
  check_name("node name", name);
  cert_request req;
  req.common_name = name;
  req.unit = "node";
  req.days = days;
  req.hosts = hosts;
  for (auto& host : hosts)
    if (!is_ip_address(host) && !is_dns_name(host))
      throw cert_error("bad host '" + host + "': neither an IP address nor a DNS name");
  issue(dir, ca_key, req, node_cert_path(dir, name), node_key_path(dir, name));
}

void create_client(const std::string& dir, const std::string& ca_key, const std::string& user,
                   const std::string& role, int days) {
  check_name("user name", user);
  if (!is_client_role(role))
    throw cert_error("bad role '" + role + "': admin or viewer");
  cert_request req;
  req.common_name = user;
  req.unit = role;
  req.days = days;
  issue(dir, ca_key, req, client_cert_path(dir, user), client_key_path(dir, user));
}

std::vector<std::pair<std::string, identity>> list(const std::string& dir) {
  std::unique_ptr<DIR, int (*)(DIR*)> d{::opendir(dir.c_str()), ::closedir};
  if (!d)
    throw cert_error(dir + ": cannot read directory: " + std::strerror(errno));
  std::vector<std::string> files;
  while (auto* e = ::readdir(d.get())) {
    std::string f = e->d_name;
    if (f.size() > 4 && f.compare(f.size() - 4, 4, ".crt") == 0)
      files.push_back(f);
  }
  std::sort(files.begin(), files.end());
  std::vector<std::pair<std::string, identity>> out;
  for (auto& f : files) {
    auto cert = load_cert(dir + "/" + f);
    out.emplace_back(f, identity_of(cert.get()));
  }
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    throw cert_error(path + ": cannot read: " + std::strerror(errno));
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::optional<identity> verify(const std::string& cert_pem, const std::string& ca_pem, std::string& why) {
  auto cert = parse_cert(cert_pem);
  if (!cert) {
    ERR_clear_error();
    why = "not a PEM certificate";
    return std::nullopt;
  }
  store_ptr store{X509_STORE_new()};
  if (!store) {
    why = "out of memory";
    return std::nullopt;
  }
  // Every certificate in ca_pem is trusted: during a rotation the old CA and
  // the new one.
  auto bio = read_bio(ca_pem);
  int cas = 0;
  while (x509_ptr ca{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)}) {
    if (X509_STORE_add_cert(store.get(), ca.get()) != 1) {
      why = "cannot use a CA certificate: " + openssl_why();
      return std::nullopt;
    }
    ++cas;
  }
  ERR_clear_error(); // the end of the PEM text reads as an error
  if (cas == 0) {
    why = "no CA certificate given";
    return std::nullopt;
  }
  if (X509_check_ca(cert.get()) != 0) {
    why = "a CA certificate, not a node's or a client's";
    return std::nullopt;
  }
  store_ctx_ptr ctx{X509_STORE_CTX_new()};
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr) != 1) {
    why = "cannot set up the check: " + openssl_why();
    return std::nullopt;
  }
  if (X509_verify_cert(ctx.get()) != 1) {
    why = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
    ERR_clear_error();
    return std::nullopt;
  }
  return identity_of(cert.get());
}

std::string sign(const std::string& key_pem, const std::string& data) {
  auto key = parse_key(key_pem);
  if (!key)
    fail("not a PEM private key");
  md_ctx_ptr md{EVP_MD_CTX_new()};
  size_t len = 0;
  auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
  if (!md || EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1
      || EVP_DigestSign(md.get(), nullptr, &len, bytes, data.size()) != 1)
    fail("cannot sign");
  std::string sig(len, '\0');
  if (EVP_DigestSign(md.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, bytes, data.size()) != 1)
    fail("cannot sign");
  sig.resize(len); // a DER ECDSA signature is often shorter than the maximum
  return crypto::to_hex(sig);
}

bool signature_ok(const std::string& cert_pem, const std::string& data, const std::string& signature) {
  auto sig = crypto::from_hex(signature);
  auto cert = parse_cert(cert_pem);
  md_ctx_ptr md{EVP_MD_CTX_new()};
  bool ok = sig && cert && md
            && EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, X509_get0_pubkey(cert.get())) == 1
            && EVP_DigestVerify(md.get(), reinterpret_cast<const unsigned char*>(sig->data()), sig->size(),
                                reinterpret_cast<const unsigned char*>(data.data()), data.size())
                 == 1;
  ERR_clear_error();
  return ok;
}

bool key_matches(const std::string& cert_pem, const std::string& key_pem) {
  auto cert = parse_cert(cert_pem);
  auto key = parse_key(key_pem);
  bool ok = cert && key && EVP_PKEY_eq(X509_get0_pubkey(cert.get()), key.get()) == 1;
  ERR_clear_error();
  return ok;
}

} // namespace cafmcp::certs
