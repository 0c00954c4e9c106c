// A node's replicas on disk: snapshot and write-ahead log.
#include "cluster/replica_disk.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include <sys/stat.h>
#include <unistd.h>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/core_sup.hpp"
#include "base/crypto.hpp"
#include "base/log.hpp"
#include "supervision/messages.hpp"

namespace cafmcp::cluster {

namespace {

using nlohmann::json;

constexpr const char* wal_name = "replicas.wal";
constexpr const char* snapshot_name = "replicas.snapshot";
constexpr const char* snapshot_magic = "cafmcp-replicas";

using disk_quit_atom = caf::atom_constant<caf::atom("dk_quit")>;

json to_json(const record_delta& d) {
  json fields = json::object();
  for (auto& [k, v] : d.fields)
    fields[k] = json::array({v.value, v.ts.wall_ms, v.ts.logical, v.ts.node});
  return json{{"id", d.id}, {"f", std::move(fields)}};
}

std::optional<record_delta> from_json(const json& j) {
  if (!j.is_object() || !j["id"].is_string() || !j["f"].is_object())
    return std::nullopt;
  record_delta d;
  d.id = j["id"].get<std::string>();
  for (auto& [k, v] : j["f"].items()) {
    if (!v.is_array() || v.size() != 4 || !v[0].is_string() || !v[1].is_number_unsigned()
        || !v[2].is_number_unsigned() || !v[3].is_string())
      return std::nullopt;
    d.fields[k] = field_value{v[0].get<std::string>(),
                              hlc_stamp{v[1].get<uint64_t>(), v[2].get<uint32_t>(), v[3].get<std::string>()}};
  }
  return d;
}

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

std::string encode_wal_line(const record_delta& d) {
  auto text = to_json(d).dump();
  return crypto::sha256_hex(text) + " " + text;
}

std::optional<record_delta> decode_wal_line(const std::string& line) {
  if (line.size() < 66 || line[64] != ' ')
    return std::nullopt;
  auto text = line.substr(65);
  if (crypto::sha256_hex(text) != line.substr(0, 64))
    return std::nullopt;
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded())
    return std::nullopt;
  return from_json(j);
}

disk_load load_replicas(const std::string& dir) {
  disk_load out;
  if (std::ifstream snap{path_of(dir, snapshot_name)}) {
    std::string header;
    std::getline(snap, header);
    std::stringstream rest;
    rest << snap.rdbuf();
    auto body = rest.str();
    std::istringstream h{header};
    std::string magic, sum;
    int version = 0;
    size_t count = 0;
    h >> magic >> version >> count >> sum;
    if (magic != snapshot_magic || version != 1) {
      out.snapshot_corrupt = true;
      out.problem = "the snapshot's header is not \"cafmcp-replicas 1 …\"";
    } else if (crypto::sha256_hex(body) != sum) {
      out.snapshot_corrupt = true;
      out.problem = "the snapshot's SHA-256 does not match its content";
    } else {
      std::istringstream lines{body};
      std::string line;
      std::vector<record_delta> records;
      while (std::getline(lines, line)) {
        auto d = from_json(json::parse(line, nullptr, false));
        if (!d) {
          out.snapshot_corrupt = true;
          out.problem = "a snapshot record does not parse";
          break;
        }
        records.push_back(std::move(*d));
      }
      if (!out.snapshot_corrupt && records.size() != count) {
        out.snapshot_corrupt = true;
        out.problem = "the snapshot holds " + std::to_string(records.size()) + " records, its header says "
                      + std::to_string(count);
      }
      if (!out.snapshot_corrupt) {
        out.from_snapshot = records.size();
        out.records = std::move(records);
      }
    }
  }
  if (std::ifstream wal{path_of(dir, wal_name)}) {
    std::string line;
    while (std::getline(wal, line)) {
      if (line.empty())
        continue;
      if (auto d = decode_wal_line(line)) {
        out.records.push_back(std::move(*d));
        ++out.from_wal;
      } else {
        ++out.bad_lines;
      }
    }
  }
  return out;
}

bool write_snapshot(const std::string& dir, const std::vector<record_delta>& records, std::string& err) {
  std::string body;
  for (auto& d : records)
    body += to_json(d).dump() + "\n";
  auto tmp = path_of(dir, snapshot_name) + ".tmp";
  {
    std::ofstream f{tmp, std::ios::trunc};
    f << snapshot_magic << " 1 " << records.size() << " " << crypto::sha256_hex(body) << "\n" << body;
    f.flush();
    if (!f) {
      err = "cannot write " + tmp + ": " + std::strerror(errno);
      return false;
    }
  }
  if (std::rename(tmp.c_str(), path_of(dir, snapshot_name).c_str()) != 0) {
    err = "cannot rename " + tmp + ": " + std::strerror(errno);
    return false;
  }
  // Everything the WAL held is in the snapshot now.
  std::ofstream{path_of(dir, wal_name), std::ios::trunc};
  return true;
}

bool append_wal(const std::string& dir, const std::vector<record_delta>& records, std::string& err) {
  std::ofstream f{path_of(dir, wal_name), std::ios::app};
  for (auto& d : records)
    f << encode_wal_line(d) << '\n';
  f.flush();
  if (!f) {
    err = "cannot append to " + path_of(dir, wal_name) + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

namespace {

caf::behavior replica_disk_actor(caf::event_based_actor* self, std::string dir, std::string path) {
  if (!make_dirs(dir))
    log::error(path, "cannot create the data directory " + dir + ": " + std::strerror(errno));
  // An exit request overtakes ordinary messages (it is urgent): quit only
  // after what was sent before it, e.g. the replicator's last snapshot.
  self->set_exit_handler([self](caf::exit_msg& m) { self->send(self, disk_quit_atom::value, m.reason); });
  // Detached: blocking file I/O is fine here, and nowhere else.
  return {
    [self](disk_quit_atom, caf::error& reason) { self->quit(std::move(reason)); },
    [=](disk_append_atom, const std::vector<record_delta>& ds) {
      std::string err;
      if (!append_wal(dir, ds, err))
        log::error(path, err);
    },
    [=](disk_snapshot_atom, const std::vector<record_delta>& ds) {
      std::string err;
      if (!write_snapshot(dir, ds, err))
        log::error(path, err);
    },
    [=](disk_load_atom) {
      auto r = load_replicas(dir);
      if (r.snapshot_corrupt)
        log::error(path, "replicas.snapshot in " + dir + " is corrupt and was skipped: " + r.problem);
      if (r.bad_lines > 0)
        log::warning(path, "replicas.wal in " + dir + ": " + std::to_string(r.bad_lines)
                             + " line(s) with a bad checksum skipped");
      if (r.from_snapshot + r.from_wal > 0)
        log::info(path, "read " + std::to_string(r.from_snapshot) + " record(s) from the snapshot and "
                          + std::to_string(r.from_wal) + " from the WAL in " + dir);
      return r.records;
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
