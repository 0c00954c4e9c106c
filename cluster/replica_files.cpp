// The replica files' formats: WAL lines and the snapshot, encoded and read back from their text.
#include "cluster/replica_files.hpp"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <iterator>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "base/crypto.hpp"

namespace cafmcp::cluster {

namespace {

using nlohmann::json;

constexpr const char* snapshot_magic = "cafmcp-replicas";
constexpr size_t parallel_parse_from = 20000; // records; fewer are parsed on the caller's thread

json to_json(const record_delta& d) {
  json fields = json::object();
  for (auto& [k, v] : d.fields)
    fields[k] = json::array({v.value, v.ts.wall_ms, v.ts.logical, v.ts.node});
  return json{{"id", d.id}, {"f", std::move(fields)}};
}

std::optional<record_delta> from_json(const json& j) {
  // find(), not a const operator[]: a missing key there is undefined behaviour.
  if (!j.is_object())
    return std::nullopt;
  auto id = j.find("id");
  auto f = j.find("f");
  if (id == j.end() || !id->is_string() || f == j.end() || !f->is_object())
    return std::nullopt;
  record_delta d;
  d.id = id->get<std::string>();
  for (auto& [k, v] : f->items()) {
    if (!v.is_array() || v.size() != 4 || !v[0].is_string() || !v[1].is_number_unsigned()
        || !v[2].is_number_unsigned() || v[2].get<uint64_t>() > UINT32_MAX || !v[3].is_string())
      return std::nullopt;
    d.fields[k] = field_value{v[0].get<std::string>(),
                              hlc_stamp{v[1].get<uint64_t>(), v[2].get<uint32_t>(), v[3].get<std::string>()}};
  }
  return d;
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

std::string encode_snapshot_record(const record_delta& d) {
  return to_json(d).dump();
}

std::optional<record_delta> decode_snapshot_record(const std::string& line) {
  return from_json(json::parse(line, nullptr, false));
}

std::string snapshot_header(size_t count, const std::string& body) {
  return std::string{snapshot_magic} + " 1 " + std::to_string(count) + " " + crypto::sha256_hex(body);
}

void read_snapshot(const std::string& text, disk_load& out) {
  auto nl = text.find('\n');
  auto header = text.substr(0, nl);
  auto body = nl == std::string::npos ? std::string{} : text.substr(nl + 1);
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
    // One JSON parse per record is most of a restart: large snapshots are
    // parsed by a few threads, each a run of whole lines, kept in order.
    std::vector<std::pair<size_t, size_t>> lines; // [begin, end)
    for (size_t at = 0; at < body.size();) {
      auto end = body.find('\n', at);
      if (end == std::string::npos)
        end = body.size();
      lines.emplace_back(at, end);
      at = end + 1;
    }
    size_t parts = lines.size() < parallel_parse_from
                     ? 1
                     : std::max<size_t>(1, std::min<size_t>(4, std::thread::hardware_concurrency()));
    std::vector<std::vector<record_delta>> parsed(parts);
    std::vector<size_t> bad(parts, SIZE_MAX); // the first line that did not parse, per part
    auto parse_part = [&](size_t k) {
      auto from = lines.size() * k / parts, to = lines.size() * (k + 1) / parts;
      parsed[k].reserve(to - from);
      for (auto i = from; i < to; ++i) {
        auto d = decode_snapshot_record(body.substr(lines[i].first, lines[i].second - lines[i].first));
        if (!d) {
          bad[k] = i;
          return;
        }
        parsed[k].push_back(std::move(*d));
      }
    };
    std::vector<std::thread> helpers;
    for (size_t k = 1; k < parts; ++k)
      helpers.emplace_back(parse_part, k);
    parse_part(0);
    for (auto& t : helpers)
      t.join();
    if (std::any_of(bad.begin(), bad.end(), [](size_t b) { return b != SIZE_MAX; })) {
      out.snapshot_corrupt = true;
      out.problem = "a snapshot record does not parse";
    } else if (lines.size() != count) {
      out.snapshot_corrupt = true;
      out.problem = "the snapshot holds " + std::to_string(lines.size()) + " records, its header says "
                    + std::to_string(count);
    } else {
      std::vector<record_delta> records;
      records.reserve(lines.size());
      for (auto& part : parsed)
        std::move(part.begin(), part.end(), std::back_inserter(records));
      out.from_snapshot = records.size();
      out.records = std::move(records);
    }
  }
}

void read_wal(const std::string& text, disk_load& out) {
  // Split into lines first: whether a bad line is torn (the last one) or
  // damage (good lines follow) depends on what comes after it.
  std::vector<std::pair<size_t, size_t>> lines; // [begin, end) without the newline
  for (size_t pos = 0; pos < text.size();) {
    auto nl = text.find('\n', pos);
    auto end = nl == std::string::npos ? text.size() : nl;
    lines.emplace_back(pos, end);
    pos = nl == std::string::npos ? text.size() : nl + 1;
  }
  for (size_t i = 0; i < lines.size(); ++i) {
    auto [begin, end] = lines[i];
    if (begin == end) {
      out.wal_good_bytes = std::min(text.size(), end + 1);
      continue;
    }
    auto d = decode_wal_line(text.substr(begin, end - begin));
    // A line without its newline is torn even if it decodes: the append
    // that wrote it did not finish.
    bool complete = end < text.size();
    if (d && complete) {
      out.records.push_back(std::move(*d));
      ++out.from_wal;
      out.wal_good_bytes = end + 1;
      continue;
    }
    bool last = true;
    for (size_t k = i + 1; k < lines.size(); ++k)
      last = last && lines[k].first == lines[k].second;
    if (last) {
      out.torn_tail = true;
    } else {
      out.wal_stopped_at = i + 1;
      out.wal_not_replayed = lines.size() - i;
      if (!out.problem.empty())
        out.problem += "; ";
      out.problem += "WAL line " + std::to_string(i + 1) + " of " + std::to_string(lines.size())
                     + " has a bad checksum or format and lines follow it";
    }
    break;
  }
}

} // namespace cafmcp::cluster
