// The encrypted backup file: zstd-compressed, AES-256-GCM-sealed chunks of records and a sealed manifest.
#include "cluster/backup_file.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <zstd.h>

#include "base/crypto.hpp"
#include "cluster/replica_files.hpp"

namespace cafmcp::cluster {

namespace {

using nlohmann::json;

constexpr char magic[] = "CAFMCPBK";
constexpr size_t magic_size = 8;
constexpr size_t nonce_size = 12;
constexpr uint32_t max_header = 1u << 20;
constexpr uint32_t max_frame = 64u << 20;  // sealed bytes of one frame
constexpr uint64_t max_plain = 256u << 20; // one chunk decompressed
constexpr int zstd_level = 3;

std::string le(uint64_t v, size_t n) {
  std::string out(n, '\0');
  for (size_t i = 0; i < n; ++i)
    out[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}

uint64_t from_le(const std::string& s) {
  uint64_t v = 0;
  for (size_t i = s.size(); i-- > 0;)
    v = (v << 8) | static_cast<unsigned char>(s[i]);
  return v;
}

std::string aad(const std::string& header_hash, uint64_t index, char kind) {
  return header_hash + le(index, 8) + std::string(1, kind);
}

std::string system_error(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

json header_json(const backup_header& h) {
  json kdf{{"kind", h.kdf.kind}};
  if (h.kdf.kind == "scrypt")
    kdf.update({{"salt", crypto::to_hex(h.kdf.salt)}, {"n", h.kdf.n}, {"r", h.kdf.r}, {"p", h.kdf.p}});
  return json{{"format", "cafmcp-backup"},
              {"version", h.version},
              {"cluster", h.cluster},
              {"cut", {h.cut.wall_ms, h.cut.logical, h.cut.node}},
              {"records", h.records},
              {"key_id", h.key_id},
              {"kdf", kdf},
              {"created_ms", h.created_ms},
              {"taken_by", h.taken_by}};
}

backup_header parse_header(const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  auto format = j.is_object() ? j.find("format") : j.end();
  if (j.is_discarded() || !j.is_object() || format == j.end() || *format != "cafmcp-backup")
    throw backup_error("the backup's header does not parse");
  backup_header h;
  if (!j.contains("version") || !j["version"].is_number_integer())
    throw backup_error("the backup's header has no format version");
  h.version = j["version"].get<int>();
  if (h.version != backup_format_version)
    throw backup_error("the backup is format version " + std::to_string(h.version) + "; this cafmcp reads version "
                       + std::to_string(backup_format_version) + " only");
  try {
    h.cluster = j.at("cluster").get<std::string>();
    auto& cut = j.at("cut");
    h.cut = hlc_stamp{cut.at(0).get<uint64_t>(), cut.at(1).get<uint32_t>(), cut.at(2).get<std::string>()};
    h.records = j.at("records").get<uint64_t>();
    h.key_id = j.at("key_id").get<std::string>();
    auto& kdf = j.at("kdf");
    h.kdf.kind = kdf.at("kind").get<std::string>();
    if (h.kdf.kind == "scrypt") {
      auto salt = crypto::from_hex(kdf.at("salt").get<std::string>());
      if (!salt)
        throw backup_error("the backup's header has a bad scrypt salt");
      h.kdf.salt = *salt;
      h.kdf.n = kdf.at("n").get<uint64_t>();
      h.kdf.r = kdf.at("r").get<uint64_t>();
      h.kdf.p = kdf.at("p").get<uint64_t>();
    } else if (h.kdf.kind != "key-file") {
      throw backup_error("the backup's key was made by \"" + h.kdf.kind + "\", which this cafmcp does not know");
    }
    h.created_ms = j.value("created_ms", int64_t{0});
    h.taken_by = j.value("taken_by", "");
  } catch (const json::exception& e) {
    throw backup_error(std::string{"the backup's header is incomplete: "} + e.what());
  }
  return h;
}

/// Refuses a secret's file that others may read (`what`: "the key file").
void check_private(const std::string& path, const std::string& what) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw backup_error(system_error("cannot read " + what, path));
  if ((st.st_mode & 077) != 0) {
    std::ostringstream mode;
    mode << std::oct << (st.st_mode & 0777);
    throw backup_error(what + " " + path + " may be read by others (mode " + mode.str() + "); make it 0600");
  }
}

std::string read_key_file(const std::string& path) {
  check_private(path, "the key file");
  std::ifstream in{path, std::ios::binary};
  std::string text{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  if (!in && !in.eof())
    throw backup_error(system_error("cannot read the key file", path));
  if (text.size() == 32)
    return text;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
    text.pop_back();
  if (auto raw = crypto::from_hex(text); raw && raw->size() == 32)
    return *raw;
  throw backup_error("the key file " + path + " holds " + std::to_string(text.size())
                     + " bytes; a backup key is 32 bytes (or 64 hex digits): make one with cafmcp backup keygen");
}

std::string compress(const std::string& plain) {
  std::string out(ZSTD_compressBound(plain.size()), '\0');
  auto n = ZSTD_compress(out.data(), out.size(), plain.data(), plain.size(), zstd_level);
  if (ZSTD_isError(n))
    throw backup_error(std::string{"zstd: "} + ZSTD_getErrorName(n));
  out.resize(n);
  return out;
}

std::string decompress(const std::string& packed, uint64_t index) {
  auto size = ZSTD_getFrameContentSize(packed.data(), packed.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > max_plain)
    throw backup_error("chunk " + std::to_string(index + 1) + " does not decompress");
  std::string out(size, '\0');
  auto n = ZSTD_decompress(out.data(), out.size(), packed.data(), packed.size());
  if (ZSTD_isError(n) || n != size)
    throw backup_error("chunk " + std::to_string(index + 1) + " does not decompress");
  return out;
}

} // namespace

// -- keys ---------------------------------------------------------------------------

std::string read_passphrase_file(const std::string& path) {
  check_private(path, "the passphrase file");
  std::ifstream in{path};
  std::string line;
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r')
    line.pop_back();
  return line;
}

std::string backup_key::id() const {
  return crypto::to_hex(crypto::sha256("cafmcp-backup-key\n" + bytes).substr(0, 8));
}

backup_key make_backup_key(const backup_secret& s) {
  backup_key k;
  if (!s.key_file.empty()) {
    k.bytes = read_key_file(s.key_file);
    return k;
  }
  if (!s.has_passphrase)
    throw backup_error("no key: give --key-file FILE or --passphrase-file FILE (or set CAFMCP_BACKUP_PASSPHRASE)");
  if (s.passphrase.size() < 8)
    throw backup_error("the passphrase is shorter than 8 characters");
  k.kdf.kind = "scrypt";
  k.kdf.salt = crypto::random_bytes(16);
  k.bytes = crypto::scrypt_key(s.passphrase, k.kdf.salt, k.kdf.n, k.kdf.r, k.kdf.p);
  return k;
}

backup_key reopen_backup_key(const backup_secret& s, const backup_kdf& kdf) {
  backup_key k;
  k.kdf = kdf;
  if (kdf.kind == "key-file") {
    if (s.key_file.empty())
      throw backup_error("the backup was written with a key file: give --key-file FILE");
    k.bytes = read_key_file(s.key_file);
  } else {
    if (!s.has_passphrase)
      throw backup_error("the backup was written with a passphrase: give --passphrase-file FILE (or set "
                         "CAFMCP_BACKUP_PASSPHRASE)");
    // A header may ask for any cost: refuse what would take more memory
    // than scrypt_key allows (or minutes), before trying.
    bool power_of_two = kdf.n >= 2 && (kdf.n & (kdf.n - 1)) == 0;
    if (!power_of_two || kdf.n > (1u << 20) || kdf.r == 0 || kdf.r > 32 || kdf.p == 0 || kdf.p > 16
        || 128 * kdf.r * kdf.n > (256u << 20))
      throw backup_error("the backup's scrypt cost (N=" + std::to_string(kdf.n) + ", r=" + std::to_string(kdf.r)
                         + ", p=" + std::to_string(kdf.p) + ") is out of range");
    k.bytes = crypto::scrypt_key(s.passphrase, kdf.salt, kdf.n, kdf.r, kdf.p);
  }
  return k;
}

void write_key_file(const std::string& path) {
  auto fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    throw backup_error(system_error("cannot create the key file", path));
  auto key = crypto::random_bytes(32);
  bool ok = ::write(fd, key.data(), key.size()) == static_cast<ssize_t>(key.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok)
    throw backup_error(system_error("cannot write the key file", path));
}

// -- digest -------------------------------------------------------------------------

void backup_digest::add(const record_delta& d) {
  auto h = crypto::sha256(encode_snapshot_record(d));
  unsigned carry = 0;
  for (size_t i = 32; i-- > 0;) {
    unsigned v = sum_[i] + static_cast<unsigned char>(h[i]) + carry;
    sum_[i] = static_cast<unsigned char>(v & 0xff);
    carry = v >> 8;
  }
}

std::string backup_digest::hex() const {
  return crypto::to_hex(std::string(reinterpret_cast<const char*>(sum_), sizeof sum_));
}

// -- writer -------------------------------------------------------------------------

backup_writer::backup_writer(std::string path, backup_header header, backup_key key, size_t chunk_bytes)
  : path_(std::move(path)), partial_(path_ + ".partial"), header_(std::move(header)), key_(std::move(key)),
    chunk_bytes_(chunk_bytes) {
  if (::access(path_.c_str(), F_OK) == 0)
    throw backup_error(path_ + " exists; a backup never replaces a file");
  auto fd = ::open(partial_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    throw backup_error(system_error("cannot create", partial_));
  ::close(fd);
  out_.open(partial_, std::ios::binary | std::ios::trunc);
  if (!out_)
    throw backup_error(system_error("cannot write", partial_));
  header_.kdf = key_.kdf;
  header_.key_id = key_.id();
  auto text = header_json(header_).dump();
  header_hash_ = crypto::sha256(text);
  out_.write(magic, magic_size);
  out_ << le(text.size(), 4) << text;
  summary_.file_bytes = magic_size + 4 + text.size();
}

backup_writer::~backup_writer() {
  if (!finished_) {
    out_.close();
    std::remove(partial_.c_str());
  }
}

void backup_writer::seal(char kind, const std::string& plain) {
  auto nonce = crypto::random_bytes(nonce_size);
  auto index = chunks_.size(); // data chunks so far: the manifest follows the last
  auto sealed = crypto::aes256gcm_seal(key_.bytes, nonce, aad(header_hash_, index, kind), plain);
  auto frame = std::string(1, kind) + le(sealed.size() + nonce_size, 4) + nonce + sealed;
  out_ << frame;
  if (!out_)
    throw backup_error(system_error("cannot write", partial_));
  summary_.file_bytes += frame.size();
  if (kind == 'D')
    chunks_.emplace_back(crypto::sha256_hex(frame), chunk_records_);
}

void backup_writer::flush_chunk() {
  if (chunk_records_ == 0)
    return;
  seal('D', compress(chunk_));
  ++summary_.chunks;
  chunk_.clear();
  chunk_records_ = 0;
}

void backup_writer::add(const record_delta& d) {
  auto line = encode_snapshot_record(d);
  summary_.plain_bytes += line.size() + 1;
  chunk_ += line;
  chunk_ += '\n';
  ++chunk_records_;
  ++summary_.records;
  digest_.add(d);
  if (chunk_.size() >= chunk_bytes_)
    flush_chunk();
}

backup_summary backup_writer::finish() {
  flush_chunk();
  if (summary_.records != header_.records)
    throw backup_error("the cut held " + std::to_string(header_.records) + " records but "
                       + std::to_string(summary_.records) + " were read; the backup is not complete");
  summary_.digest = digest_.hex();
  json chunks = json::array();
  for (auto& [hash, n] : chunks_)
    chunks.push_back({{"sha256", hash}, {"records", n}});
  json manifest{{"chunks", chunks},
                {"records", summary_.records},
                {"plain_bytes", summary_.plain_bytes},
                {"digest", summary_.digest}};
  seal('M', manifest.dump());
  out_.flush();
  out_.close();
  if (!out_)
    throw backup_error(system_error("cannot write", partial_));
  // On disk before it is renamed into place, and the rename on disk too.
  auto fd = ::open(partial_.c_str(), O_RDONLY | O_CLOEXEC);
  bool synced = fd >= 0 && ::fsync(fd) == 0;
  if (fd >= 0)
    ::close(fd);
  if (!synced)
    throw backup_error(system_error("cannot sync", partial_));
  if (::access(path_.c_str(), F_OK) == 0)
    throw backup_error(path_ + " appeared while the backup was written; the backup is left in " + partial_);
  if (std::rename(partial_.c_str(), path_.c_str()) != 0)
    throw backup_error(system_error("cannot rename the backup to", path_));
  auto slash = path_.rfind('/');
  auto dir = slash == std::string::npos ? std::string{"."} : path_.substr(0, slash == 0 ? 1 : slash);
  if (auto dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  finished_ = true;
  return summary_;
}

// -- reader -------------------------------------------------------------------------

backup_reader::backup_reader(const std::string& path) : path_(path) {
  in_.open(path, std::ios::binary);
  if (!in_)
    throw backup_error(system_error("cannot read", path));
  in_.seekg(0, std::ios::end);
  size_ = static_cast<uint64_t>(in_.tellg());
  in_.seekg(0);
  if (size_ < magic_size || read_exact(magic_size, "the magic") != std::string(magic, magic_size))
    throw backup_error(path + " is not a cafmcp backup");
  auto n = from_le(read_exact(4, "the header's length"));
  if (n == 0 || n > max_header)
    throw backup_error("the backup's header length (" + std::to_string(n) + ") is out of range");
  auto text = read_exact(n, "the header");
  header_ = parse_header(text);
  header_hash_ = crypto::sha256(text);
}

std::string backup_reader::read_exact(size_t n, const std::string& what) {
  if (n > size_ - position_) // before allocating: a damaged length may be huge
    throw backup_error("the backup is truncated: it ends inside " + what + " (it needs " + std::to_string(n)
                       + " bytes at byte " + std::to_string(position_) + " of " + std::to_string(size_) + ")");
  std::string out(n, '\0');
  in_.read(out.data(), static_cast<std::streamsize>(n));
  if (static_cast<size_t>(in_.gcount()) != n)
    throw backup_error("the backup is truncated: it ends inside " + what + " (at byte "
                       + std::to_string(position_ + static_cast<uint64_t>(in_.gcount())) + " of " + std::to_string(size_)
                       + ")");
  position_ += n;
  return out;
}

void backup_reader::unlock(const backup_key& key) {
  if (key.id() != header_.key_id)
    throw backup_error("wrong key: the backup was written with key " + header_.key_id + ", this key is " + key.id()
                       + (header_.kdf.kind == "scrypt" ? " (a different passphrase)" : ""));
  key_ = key;
  unlocked_ = true;
}

bool backup_reader::next(std::vector<record_delta>& out) {
  if (!unlocked_)
    throw backup_error("the backup is not unlocked");
  if (done_)
    return false;
  auto where = "frame " + std::to_string(index_ + 1);
  if (position_ == size_)
    throw backup_error("the backup is truncated: it ends after " + std::to_string(index_)
                       + " chunk(s), before its manifest");
  auto kind = read_exact(1, where)[0];
  if (kind != 'D' && kind != 'M')
    throw backup_error(where + " has an unknown kind (the file is damaged at byte " + std::to_string(position_ - 1)
                       + ")");
  auto what = kind == 'D' ? "chunk " + std::to_string(index_ + 1) : std::string{"the manifest"};
  auto len_bytes = read_exact(4, what);
  auto len = from_le(len_bytes);
  if (len <= nonce_size + 16 || len > max_frame)
    throw backup_error(what + " has a length out of range (the file is damaged)");
  auto body = read_exact(len, what);
  auto index = kind == 'D' ? index_ : chunk_hashes_.size();
  auto plain = crypto::aes256gcm_open(key_.bytes, body.substr(0, nonce_size), aad(header_hash_, index, kind),
                                      body.substr(nonce_size));
  if (!plain)
    throw backup_error(what + " fails its authentication tag: the file was changed or damaged there");
  if (kind == 'D') {
    chunk_hashes_.push_back(crypto::sha256_hex(std::string(1, kind) + len_bytes + body));
    auto text = decompress(*plain, index_);
    uint64_t n = 0;
    for (size_t pos = 0; pos < text.size();) {
      auto nl = text.find('\n', pos);
      if (nl == std::string::npos)
        throw backup_error(what + " ends inside a record");
      auto d = decode_snapshot_record(text.substr(pos, nl - pos));
      if (!d)
        throw backup_error(what + " holds a record that does not parse");
      digest_.add(*d);
      out.push_back(std::move(*d));
      ++n;
      pos = nl + 1;
    }
    chunk_records_.push_back(n);
    summary_.records += n;
    summary_.plain_bytes += text.size();
    ++summary_.chunks;
    ++index_;
    return true;
  }
  // The manifest: the chunks read must be exactly the ones it lists.
  try {
    check_manifest(nlohmann::json::parse(*plain, nullptr, false));
  } catch (const nlohmann::json::exception&) {
    throw backup_error("the manifest does not parse"); // sealed with the key: written by a foreign program
  }
  done_ = true;
  return false;
}

void backup_reader::check_manifest(const nlohmann::json& m) {
  if (m.is_discarded() || !m.is_object() || !m.contains("chunks") || !m["chunks"].is_array())
    throw backup_error("the manifest does not parse");
  auto& listed = m["chunks"];
  if (listed.size() != chunk_hashes_.size())
    throw backup_error("the manifest lists " + std::to_string(listed.size()) + " chunks, the file holds "
                       + std::to_string(chunk_hashes_.size()));
  for (size_t i = 0; i < listed.size(); ++i)
    if (listed[i].value("sha256", "") != chunk_hashes_[i] || listed[i].value("records", uint64_t{0}) != chunk_records_[i])
      throw backup_error("chunk " + std::to_string(i + 1) + " does not match its SHA-256 in the manifest");
  summary_.digest = digest_.hex();
  if (m.value("records", uint64_t{0}) != summary_.records || summary_.records != header_.records)
    throw backup_error("the backup holds " + std::to_string(summary_.records) + " records; its header says "
                       + std::to_string(header_.records));
  if (m.value("digest", "") != summary_.digest)
    throw backup_error("the records' digest does not match the manifest's");
  if (position_ != size_)
    throw backup_error(std::to_string(size_ - position_) + " bytes follow the manifest (the file was changed)");
  summary_.file_bytes = size_;
}

backup_summary verify_backup(const std::string& path, const backup_secret& secret) {
  backup_reader r{path};
  r.unlock(reopen_backup_key(secret, r.header().kdf));
  std::vector<record_delta> records;
  while (r.next(records))
    records.clear();
  return r.summary();
}

} // namespace cafmcp::cluster
