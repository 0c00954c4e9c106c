// The records one node holds as a replica, merged last-write-wins by HLC stamp.
#include "cluster/replica_store.hpp"

namespace cafmcp::cluster {

bool replica_store::merge(const record_delta& d) {
  if (d.id.empty() || d.fields.empty())
    return false;
  auto& rec = records_[d.id];
  bool changed = false;
  for (auto& [name, v] : d.fields) {
    auto i = rec.find(name);
    if (i == rec.end()) {
      rec.emplace(name, v);
      changed = true;
    } else if (i->second.ts < v.ts) {
      if (cutting_ && !(cut_ < i->second.ts) && cut_ < v.ts)
        before_cut_[d.id].emplace(name, i->second);
      i->second = v;
      changed = true;
    }
  }
  return changed;
}

const std::map<std::string, field_value>* replica_store::find(const std::string& id) const {
  auto i = records_.find(id);
  return i == records_.end() ? nullptr : &i->second;
}

bool live_fields(const std::map<std::string, field_value>& fields) {
  if (!fields.count(field::created))
    return false;
  auto g = fields.find(field::gone);
  return g == fields.end() || g->second.value != "1";
}

bool replica_store::live(const std::string& id) const {
  auto rec = find(id);
  return rec && live_fields(*rec);
}

record_delta replica_store::full(const std::string& id) const {
  record_delta out;
  out.id = id;
  if (auto rec = find(id))
    out.fields = *rec;
  return out;
}

std::string replica_store::value(const std::string& id, const std::string& name) const {
  auto rec = find(id);
  if (!rec)
    return {};
  auto i = rec->find(name);
  return i == rec->end() ? std::string{} : i->second.value;
}

int64_t replica_store::number(const std::string& id, const std::string& name) const {
  auto v = value(id, name);
  if (v.empty())
    return 0;
  try {
    return std::stoll(v);
  } catch (const std::exception&) {
    return 0; // only this node writes numbers there; a bad one reads as absent
  }
}

actors::session_record replica_store::to_session(const std::string& id) const {
  actors::session_record out;
  out.id = id;
  out.created_ms = number(id, field::created);
  out.last_active_ms = number(id, field::active);
  out.ttl_ms = number(id, field::ttl);
  out.info = value(id, field::info);
  if (auto rec = find(id))
    for (auto& [name, v] : *rec)
      if (name.size() > 2 && name[0] == 'd' && name[1] == ':')
        out.data.emplace(name.substr(2), v.value);
  return out;
}

hlc_stamp replica_store::last_write(const std::string& id) const {
  hlc_stamp top;
  if (auto rec = find(id))
    for (auto& [name, v] : *rec)
      if (top < v.ts)
        top = v.ts;
  return top;
}

std::vector<std::string> replica_store::ids() const {
  std::vector<std::string> out;
  out.reserve(records_.size());
  for (auto& kv : records_)
    out.push_back(kv.first);
  return out;
}

void replica_store::begin_cut(const hlc_stamp& at) {
  before_cut_.clear();
  cut_ = at;
  cutting_ = true;
}

void replica_store::end_cut() {
  before_cut_.clear();
  cutting_ = false;
}

record_delta replica_store::at_cut(const std::string& id) const {
  record_delta out;
  out.id = id;
  auto rec = find(id);
  if (!rec)
    return out;
  auto kept = before_cut_.find(id);
  for (auto& [name, v] : *rec) {
    if (!(cut_ < v.ts)) {
      out.fields.emplace(name, v);
    } else if (kept != before_cut_.end()) {
      if (auto f = kept->second.find(name); f != kept->second.end())
        out.fields.emplace(name, f->second);
    }
  }
  return out;
}

size_t replica_store::kept_for_cut() const {
  size_t n = 0;
  for (auto& kv : before_cut_)
    n += kv.second.size();
  return n;
}

} // namespace cafmcp::cluster
