// A node's replicas on disk: snapshot and write-ahead log.
#include "cluster/replica_disk.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/core_sup.hpp"
#include "base/crypto.hpp"
#include "base/log.hpp"
#include "cluster/errors.hpp"
#include "supervision/messages.hpp"

namespace cafmcp::cluster {

namespace {

using nlohmann::json;

constexpr const char* wal_name = "replicas.wal";
constexpr const char* snapshot_name = "replicas.snapshot";

using disk_quit_atom = caf::atom_constant<caf::atom("dk_quit")>;

std::string path_of(const std::string& dir, const char* name) {
  return dir + "/" + name;
}

bool make_dirs(const std::string& dir) {
  std::string sofar;
  std::stringstream parts{dir};
  std::string part;
  if (!dir.empty() && dir[0] == '/')
    sofar = "/";
  while (std::getline(parts, part, '/')) {
    if (part.empty())
      continue;
    sofar += part + "/";
    if (::mkdir(sofar.c_str(), 0750) != 0 && errno != EEXIST)
      return false;
  }
  return true;
}

} // namespace

disk_load load_replicas(const std::string& dir) {
  disk_load out;
  if (std::ifstream snap{path_of(dir, snapshot_name), std::ios::binary}) {
    std::stringstream all;
    all << snap.rdbuf();
    read_snapshot(all.str(), out);
  }
  if (std::ifstream wal{path_of(dir, wal_name), std::ios::binary}) {
    std::stringstream all;
    all << wal.rdbuf();
    read_wal(all.str(), out);
  }
  return out;
}

std::string set_aside_damage(const std::string& dir, const disk_load& load, int64_t unix_time) {
  std::string done;
  auto aside = [&](const char* name, const std::string& why) {
    auto from = path_of(dir, name);
    auto to = from + ".corrupt-" + std::to_string(unix_time);
    if (std::rename(from.c_str(), to.c_str()) == 0)
      done += std::string{done.empty() ? "" : " "} + name + " " + why + ": kept aside as " + to + ".";
    else
      done += std::string{done.empty() ? "" : " "} + name + " " + why + " and could not be moved aside: "
              + std::strerror(errno) + ".";
  };
  if (load.snapshot_corrupt)
    aside(snapshot_name, "is corrupt (" + load.problem + ")");
  if (load.wal_stopped_at > 0) {
    aside(wal_name, "is damaged at line " + std::to_string(load.wal_stopped_at) + "; "
                      + std::to_string(load.from_wal) + " record(s) before it replayed, "
                      + std::to_string(load.wal_not_replayed) + " line(s) not");
  } else if (load.torn_tail) {
    // Cut off, or the next append would follow half a line.
    if (::truncate(path_of(dir, wal_name).c_str(), static_cast<off_t>(load.wal_good_bytes)) != 0)
      done += std::string{done.empty() ? "" : " "} + "cannot cut the torn last line off " + path_of(dir, wal_name)
              + ": " + std::strerror(errno) + ".";
  }
  return done;
}

namespace {

bool write_all(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    auto n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

/// A rename or a new file is durable only once its directory is.
bool sync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return false;
  bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

std::string failure(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

} // namespace

uint64_t wal_size(const std::string& dir) {
  struct stat st {};
  return ::stat(path_of(dir, wal_name).c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

namespace {

/// Drops the WAL's first `bytes` (what a snapshot now on disk covers); a
/// tail appended since is kept, written to a new file that replaces the WAL.
bool drop_wal_prefix(const std::string& dir, uint64_t bytes, std::string& err) {
  auto path = path_of(dir, wal_name);
  auto size = wal_size(dir);
  if (bytes >= size) {
    int wal = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (wal >= 0)
      ::close(wal); // (not synced: a WAL that comes back only repeats the snapshot)
    return true;
  }
  if (bytes == 0)
    return true;
  std::ifstream in{path, std::ios::binary};
  in.seekg(static_cast<std::streamoff>(bytes));
  std::string tail{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  if (!in || tail.size() != size - bytes) {
    // Not read whole: keep the WAL as it is (it repeats the snapshot, harmlessly).
    err = failure("cannot read the end of", path);
    return false;
  }
  auto tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) {
    err = failure("cannot create", tmp);
    return false;
  }
  bool ok = write_all(fd, tail) && ::fsync(fd) == 0;
  if (!ok)
    err = failure("cannot write", tmp);
  ::close(fd);
  if (!ok) {
    std::remove(tmp.c_str());
    return false;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0 || !sync_dir(dir)) {
    err = failure("cannot replace", path);
    return false;
  }
  return true;
}

} // namespace

void snapshot_in_slices::add(const std::vector<record_delta>& records) {
  for (auto& d : records)
    body_ += encode_snapshot_record(d) + "\n";
  count_ += records.size();
}

bool snapshot_in_slices::write(const std::string& dir, std::string& err) const {
  auto tmp = path_of(dir, snapshot_name) + ".tmp";
  auto text = snapshot_header(count_, body_) + "\n" + body_;
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) {
    err = failure("cannot create", tmp);
    return false;
  }
  bool ok = write_all(fd, text);
  if (!ok)
    err = failure("cannot write", tmp);
  else if (::fsync(fd) != 0) {
    ok = false;
    err = failure("cannot fsync", tmp);
  }
  ::close(fd);
  if (!ok) {
    std::remove(tmp.c_str());
    return false;
  }
  if (std::rename(tmp.c_str(), path_of(dir, snapshot_name).c_str()) != 0) {
    err = failure("cannot rename", tmp);
    return false;
  }
  // The WAL may be cut only once the new snapshot is surely in place.
  if (!sync_dir(dir)) {
    err = failure("cannot fsync the directory", dir);
    return false;
  }
  return drop_wal_prefix(dir, wal_bytes_, err);
}

bool write_snapshot(const std::string& dir, const std::vector<record_delta>& records, std::string& err) {
  snapshot_in_slices s{0, wal_size(dir)};
  s.add(records);
  return s.write(dir, err);
}

bool append_wal(const std::string& dir, const std::vector<record_delta>& records, bool sync, std::string& err) {
  auto path = path_of(dir, wal_name);
  std::string buf;
  for (auto& d : records)
    buf += encode_wal_line(d) + '\n';
  bool created = false;
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    created = true;
  }
  if (fd < 0) {
    err = failure("cannot open", path);
    return false;
  }
  auto begin = ::lseek(fd, 0, SEEK_END);
  bool ok = write_all(fd, buf);
  if (!ok)
    err = failure("cannot append to", path);
  else if (sync && ::fdatasync(fd) != 0) {
    ok = false;
    err = failure("cannot fdatasync", path);
  }
  if (!ok && begin >= 0 && ::ftruncate(fd, begin) != 0) {
    // Left as it is: the torn tail is cut at the next load.
  }
  ::close(fd);
  if (ok && sync && created && !sync_dir(dir)) {
    err = failure("cannot fsync the directory", dir);
    return false;
  }
  return ok;
}

namespace {

caf::behavior replica_disk_actor(caf::event_based_actor* self, std::string dir, std::string path) {
  if (!make_dirs(dir))
    log::error(path, "cannot create the data directory " + dir + ": " + std::strerror(errno));
  // An exit request overtakes ordinary messages (it is urgent): quit only
  // after what was sent before it, e.g. the replicator's last snapshot.
  self->set_exit_handler([self](caf::exit_msg& m) { self->send(self, disk_quit_atom::value, m.reason); });
  // The snapshot being gathered slice by slice, if one is.
  auto slices = std::make_shared<std::optional<snapshot_in_slices>>();
  // Detached: blocking file I/O is fine here, and nowhere else.
  return {
    [self](disk_quit_atom, caf::error& reason) { self->quit(std::move(reason)); },
    [=](disk_append_atom, const std::vector<record_delta>& ds, bool sync) -> caf::result<caf::ok_atom> {
      std::string err;
      if (!append_wal(dir, ds, sync, err))
        return make_error(errc::disk_failed, err);
      return caf::ok_atom::value;
    },
    [=](disk_snapshot_atom, const std::vector<record_delta>& ds) -> caf::result<caf::ok_atom> {
      slices->reset(); // a whole snapshot (on shutdown) supersedes one in slices
      std::string err;
      if (!make_dirs(dir) || !write_snapshot(dir, ds, err))
        return make_error(errc::disk_failed, err.empty() ? "cannot create " + dir + ": " + std::strerror(errno) : err);
      return caf::ok_atom::value;
    },
    [=](disk_snapshot_part_atom, uint64_t id, const std::vector<record_delta>& ds, bool first,
        bool last) -> caf::result<caf::ok_atom> {
      if (first)
        slices->emplace(id, wal_size(dir));
      else if (!*slices || (*slices)->id() != id)
        return make_error(errc::disk_failed, "a snapshot slice came without its start (was the disk actor restarted?)");
      (*slices)->add(ds);
      if (!last)
        return caf::ok_atom::value;
      std::string err;
      bool ok = make_dirs(dir) && (*slices)->write(dir, err);
      slices->reset();
      if (!ok)
        return make_error(errc::disk_failed, err.empty() ? "cannot create " + dir + ": " + std::strerror(errno) : err);
      return caf::ok_atom::value;
    },
    [=](disk_load_atom) {
      auto r = load_replicas(dir);
      auto now = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch()).count();
      auto done = set_aside_damage(dir, r, now);
      if (r.incomplete())
        log::error(path, "the replicas in " + dir + " are damaged; records this node leads are pulled from its peers "
                           "before it serves them. " + done);
      else if (!done.empty())
        log::warning(path, done);
      if (r.torn_tail)
        log::info(path, "replicas.wal in " + dir + " ended in a torn line (a crash during an append): dropped");
      if (r.from_snapshot + r.from_wal > 0)
        log::info(path, "read " + std::to_string(r.from_snapshot) + " record(s) from the snapshot and "
                          + std::to_string(r.from_wal) + " from the WAL in " + dir);
      return caf::make_message(std::move(r.records), r.incomplete());
    },
    [self](supervision::mailbox_atom) { return static_cast<uint64_t>(self->mailbox().size()); },
  };
}

} // namespace

supervision::child_spec replica_disk_spec(std::string dir, std::shared_ptr<actors::name_table> names) {
  supervision::child_spec spec;
  spec.id = "replica_disk";
  spec.answers_mailbox = true;
  spec.start = [dir](const supervision::start_context& ctx) -> caf::expected<caf::actor> {
    return ctx.system.spawn<caf::detached>(replica_disk_actor, dir, ctx.path);
  };
  return actors::registered(std::move(spec), std::move(names));
}

} // namespace cafmcp::cluster
