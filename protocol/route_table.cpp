// Routing rules: which tool serves a tools/call, decided in microseconds.
#include "protocol/route_table.hpp"

#include <algorithm>
#include <cctype>
#include <set>
#include <stdexcept>

namespace cafmcp::protocol {

using nlohmann::json;

bool glob_match(std::string_view p, std::string_view t) {
  // Iterative with one backtrack point: linear for patterns with one star,
  // never exponential.
  size_t pi = 0, ti = 0, star = std::string_view::npos, mark = 0;
  while (ti < t.size()) {
    if (pi < p.size() && p[pi] == '*') { // a star first: a '*' in the text is text
      star = pi++;
      mark = ti;
    } else if (pi < p.size() && (p[pi] == '?' || p[pi] == t[ti])) {
      ++pi;
      ++ti;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*')
    ++pi;
  return pi == p.size();
}

std::string route_target::resolve(std::string_view name) const {
  if (!tool.empty())
    return tool;
  if (ns.empty())
    return std::string{name}; // members running the tool called
  auto dot = name.find('.');
  return ns + "." + std::string{dot == std::string_view::npos ? name : name.substr(dot + 1)};
}

std::string route_target::describe() const {
  auto w = weight == 1 ? std::string{} : " (weight " + std::to_string(weight) + ")";
  std::string where;
  if (!members.empty()) {
    where = "members ";
    for (size_t i = 0; i < members.size(); ++i)
      where += (i ? "," : "") + members[i];
    if (tool.empty() && ns.empty())
      return where + w;
    where += " ";
  }
  return where + (tool.empty() ? "namespace " + ns : "tool " + tool) + w;
}

namespace {

/// What every text a glob matches starts with.
std::string glob_prefix(const std::string& glob) {
  return glob.substr(0, glob.find_first_of("*?"));
}

/// What every text a regex matches (whole, as regex_match does) starts
/// with: its leading literal characters; "" when unsure (alternatives).
std::string regex_prefix(const std::string& re) {
  if (re.find('|') != std::string::npos)
    return ""; // alternatives (at any depth, escaped or in a class: unsure) have no common start
  std::string out;
  size_t i = re.size() > 0 && re[0] == '^' ? 1 : 0;
  while (i < re.size()) {
    char c = re[i];
    size_t len = 1;
    char lit = c;
    if (c == '\\' && i + 1 < re.size() && std::ispunct(static_cast<unsigned char>(re[i + 1]))) {
      lit = re[i + 1];
      len = 2;
    } else if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '/' || c == ':')) {
      break;
    }
    auto next = i + len < re.size() ? re[i + len] : '\0';
    if (next == '?' || next == '*' || next == '{')
      break; // that character may be absent or repeated
    out.push_back(lit);
    i += len;
  }
  return out;
}

} // namespace

route_table::route_table(std::vector<route_rule> rules, uint64_t version)
  : rules_(std::move(rules)), version_(version) {
  std::set<std::string> ids;
  std::set<std::string> headers;
  for (auto& r : rules_) {
    if (r.id.empty())
      throw std::invalid_argument("a route needs an id");
    if (!ids.insert(r.id).second)
      throw std::invalid_argument("route " + r.id + " is defined twice");
    if (r.targets.empty())
      throw std::invalid_argument("route " + r.id + " has no targets");
    auto check = [&](const std::vector<route_target>& ts, const char* what) {
      for (auto& t : ts) {
        if (t.members.empty() ? t.tool.empty() == t.ns.empty() : !t.tool.empty() && !t.ns.empty())
          throw std::invalid_argument("route " + r.id + ": each of its " + what
                                      + " names a tool or a namespace (on members: at most one of them)");
        std::set<std::string> seen;
        for (auto& m : t.members)
          if (m.empty() || !seen.insert(m).second)
            throw std::invalid_argument("route " + r.id + ": a group of members names each member once, none empty");
        if (t.weight == 0)
          throw std::invalid_argument("route " + r.id + ": a weight of 0 never sends a call; remove the target");
      }
    };
    check(r.targets, "targets");
    check(r.fallbacks, "fallbacks");
    for (auto& [h, v] : r.headers)
      headers.insert(h);
  }
  // Highest priority first; equal priorities in id order, so every member
  // given the same rules decides the same way.
  std::sort(rules_.begin(), rules_.end(), [](const route_rule& a, const route_rule& b) {
    return a.priority != b.priority ? a.priority > b.priority : a.id < b.id;
  });
  for (auto& r : rules_) {
    compiled c;
    if (!r.name_regex.empty()) {
      try {
        c.regex.emplace(r.name_regex, std::regex::ECMAScript | std::regex::optimize);
      } catch (const std::regex_error& e) {
        throw std::invalid_argument("route " + r.id + ": name_regex " + r.name_regex + " is not a regex: " + e.what());
      }
    }
    compiled_.push_back(std::move(c));
  }
  header_names_.assign(headers.begin(), headers.end());
  std::set<size_t> lengths;
  for (size_t i = 0; i < rules_.size(); ++i) {
    auto a = glob_prefix(rules_[i].name);
    auto b = rules_[i].name_regex.empty() ? std::string{} : regex_prefix(rules_[i].name_regex);
    auto& prefix = a.size() >= b.size() ? a : b; // a name must start with both
    if (prefix.empty()) {
      unprefixed_.push_back(static_cast<uint32_t>(i));
    } else {
      by_prefix_[prefix].push_back(static_cast<uint32_t>(i));
      lengths.insert(prefix.size());
    }
  }
  prefix_lengths_.assign(lengths.begin(), lengths.end());
}

bool route_table::static_match(size_t i, std::string_view tenant, std::string_view method,
                               std::string_view name) const {
  auto& r = rules_[i];
  if (r.tenant.empty() ? !tenant.empty() : !glob_match(r.tenant, tenant))
    return false;
  if (!glob_match(r.method, method) || !glob_match(r.name, name))
    return false;
  if (compiled_[i].regex && !std::regex_match(name.begin(), name.end(), *compiled_[i].regex))
    return false;
  return true;
}

std::shared_ptr<const std::vector<uint32_t>> route_table::candidates(std::string_view tenant, std::string_view method,
                                                                     std::string_view name) const {
  std::string key;
  key.reserve(tenant.size() + method.size() + name.size() + 2);
  key.append(tenant).push_back('\0');
  key.append(method).push_back('\0');
  key.append(name);
  {
    std::lock_guard<std::mutex> guard{cache_mtx_};
    ++lookups_;
    if (auto i = cache_.find(key); i != cache_.end()) {
      ++hits_;
      return i->second;
    }
  }
  std::vector<uint32_t> maybe = unprefixed_;
  for (auto len : prefix_lengths_) {
    if (len > name.size())
      break;
    if (auto i = by_prefix_.find(std::string{name.substr(0, len)}); i != by_prefix_.end())
      maybe.insert(maybe.end(), i->second.begin(), i->second.end());
  }
  std::sort(maybe.begin(), maybe.end()); // back in priority order
  auto found = std::make_shared<std::vector<uint32_t>>();
  for (auto i : maybe)
    if (static_match(i, tenant, method, name))
      found->push_back(i);
  std::lock_guard<std::mutex> guard{cache_mtx_};
  if (cache_.size() >= cache_limit)
    cache_.clear(); // many distinct names (a scan): start over rather than grow
  cache_.emplace(std::move(key), found);
  return found;
}

std::string route_table::header_mismatch(size_t i, const route_request& req) const {
  for (auto& [h, pattern] : rules_[i].headers) {
    auto v = req.header ? req.header(h) : std::nullopt;
    if (!v)
      return "header " + h + " is absent";
    if (!glob_match(pattern, *v))
      return "header " + h + " is \"" + *v + "\", not " + pattern;
  }
  return "";
}

namespace {

/// A target's available places for a call of `name`: "" (here) when it
/// has no members, else its available members. Empty: none.
std::vector<std::string> places(const route_target& t, const std::string& tool, const route_availability& available) {
  std::vector<std::string> out;
  if (t.members.empty()) {
    if (!available || available(tool, ""))
      out.emplace_back();
    return out;
  }
  for (auto& m : t.members)
    if (!available || available(tool, m))
      out.push_back(m);
  return out;
}

/// Where in `open` the fraction `x` in [0, 1) falls: equal shares.
const std::string& share(const std::vector<std::string>& open, double x) {
  auto i = static_cast<size_t>(x * static_cast<double>(open.size()));
  return open[std::min(i, open.size() - 1)];
}

} // namespace

std::optional<route_decision> route_table::decide(const route_request& req, double pick,
                                                  const route_availability& available,
                                                  std::string* unavailable) const {
  auto cands = candidates(req.tenant, req.method, req.name);
  pick = std::clamp(pick, 0.0, 0.999999999);
  for (auto i : *cands) {
    if (!header_mismatch(i, req).empty())
      continue;
    auto& r = rules_[i];
    // A weighted pick among the targets that are available now.
    uint64_t total = 0;
    size_t last_open = 0;
    std::vector<std::string> resolved(r.targets.size());
    std::vector<std::vector<std::string>> open(r.targets.size()); // empty: not available
    for (size_t k = 0; k < r.targets.size(); ++k) {
      resolved[k] = r.targets[k].resolve(req.name);
      open[k] = places(r.targets[k], resolved[k], available);
      if (!open[k].empty()) {
        total += r.targets[k].weight;
        last_open = k;
      }
    }
    if (total > 0) {
      // The point within the chosen target's share picks among its members.
      auto x = pick * static_cast<double>(total);
      for (size_t k = 0; k < r.targets.size(); ++k) {
        if (open[k].empty())
          continue;
        auto w = static_cast<double>(r.targets[k].weight);
        if (x < w || k == last_open) // (rounding never passes the last)
          return route_decision{r.id, std::move(resolved[k]), false, version_, share(open[k], std::min(x / w, 0.999999999))};
        x -= w;
      }
    }
    for (auto& f : r.fallbacks) {
      auto t = f.resolve(req.name);
      auto at = places(f, t, available);
      if (!at.empty())
        return route_decision{r.id, std::move(t), true, version_, share(at, pick)};
    }
    if (unavailable)
      *unavailable = r.id;
    return std::nullopt; // the matching rule decides, even when it has nowhere to send the call
  }
  return std::nullopt;
}

std::vector<std::string> route_table::explain(const route_request& req, const route_availability& available) const {
  std::vector<std::string> out;
  out.push_back("rules version " + std::to_string(version_) + ", " + std::to_string(rules_.size()) + " rules");
  for (size_t i = 0; i < rules_.size(); ++i) {
    auto& r = rules_[i];
    auto head = "route " + r.id + " (priority " + std::to_string(r.priority) + "): ";
    if (r.tenant.empty() ? !req.tenant.empty() : !glob_match(r.tenant, req.tenant)) {
      out.push_back(head + "no: tenant \"" + std::string{req.tenant} + "\" does not match "
                    + (r.tenant.empty() ? std::string{"(none)"} : r.tenant));
      continue;
    }
    if (!glob_match(r.method, req.method)) {
      out.push_back(head + "no: method " + std::string{req.method} + " does not match " + r.method);
      continue;
    }
    if (!glob_match(r.name, req.name)) {
      out.push_back(head + "no: name " + std::string{req.name} + " does not match " + r.name);
      continue;
    }
    if (compiled_[i].regex && !std::regex_match(req.name.begin(), req.name.end(), *compiled_[i].regex)) {
      out.push_back(head + "no: name " + std::string{req.name} + " does not match the regex " + r.name_regex);
      continue;
    }
    if (auto why = header_mismatch(i, req); !why.empty()) {
      out.push_back(head + "no: " + why);
      continue;
    }
    // "echo weight 2 (unavailable)"; on members: "echo on n2, n3 weight 1 (n3 unavailable)".
    auto where = [&](const route_target& t, bool weighted) {
      auto tool = t.resolve(req.name);
      auto weight = weighted ? " weight " + std::to_string(t.weight) : std::string{};
      if (t.members.empty())
        return tool + weight + (!available || available(tool, "") ? "" : " (unavailable)");
      std::string on, down;
      for (auto& m : t.members) {
        on += (on.empty() ? "" : ", ") + m;
        if (available && !available(tool, m))
          down += (down.empty() ? "" : ", ") + m;
      }
      return tool + " on " + on + weight + (down.empty() ? "" : " (" + down + " unavailable)");
    };
    std::string targets;
    for (auto& t : r.targets)
      targets += (targets.empty() ? "" : ", ") + where(t, true);
    std::string fallbacks;
    for (auto& f : r.fallbacks)
      fallbacks += (fallbacks.empty() ? "" : ", ") + where(f, false);
    out.push_back(head + "MATCHES: targets " + targets + (fallbacks.empty() ? "" : "; fallbacks " + fallbacks));
    return out;
  }
  out.push_back("no rule matches: the call goes to " + std::string{req.name} + " itself");
  return out;
}

uint64_t route_table::cache_hits() const {
  std::lock_guard<std::mutex> guard{cache_mtx_};
  return hits_;
}

uint64_t route_table::lookups() const {
  std::lock_guard<std::mutex> guard{cache_mtx_};
  return lookups_;
}

namespace {

std::vector<route_target> parse_targets(const json& list, const std::string& key) {
  if (!list.is_array())
    throw std::invalid_argument("\"" + key + "\": must be a list of {\"tool\" or \"namespace\" or \"members\", \"weight\"}");
  std::vector<route_target> out;
  for (size_t i = 0; i < list.size(); ++i) {
    auto k = key + "[" + std::to_string(i) + "]";
    auto& t = list[i];
    if (!t.is_object())
      throw std::invalid_argument("\"" + k + "\": must be an object with \"tool\" or \"namespace\"");
    route_target rt;
    for (auto& [field, v] : t.items()) {
      if (field == "tool" && v.is_string())
        rt.tool = v.get<std::string>();
      else if (field == "namespace" && v.is_string())
        rt.ns = v.get<std::string>();
      else if (field == "members" && v.is_array() && !v.empty()
               && std::all_of(v.begin(), v.end(), [](const json& m) { return m.is_string() && !m.get<std::string>().empty(); }))
        rt.members = v.get<std::vector<std::string>>();
      else if (field == "members")
        throw std::invalid_argument("\"" + k + ".members\": must be a non-empty list of member names, got " + v.dump());
      else if (field == "weight" && v.is_number_integer() && v.get<int64_t>() >= 1 && v.get<int64_t>() <= 1000000)
        rt.weight = static_cast<uint32_t>(v.get<int64_t>());
      else if (field == "weight")
        throw std::invalid_argument("\"" + k + ".weight\": must be an integer from 1 to 1000000, got " + v.dump());
      else
        throw std::invalid_argument("\"" + k + "." + field + "\": unknown key or wrong type (tool, namespace: strings; members: a list of names; weight: an integer)");
    }
    if (rt.members.empty() && rt.tool.empty() == rt.ns.empty())
      throw std::invalid_argument("\"" + k + "\": needs exactly one of \"tool\" and \"namespace\", or \"members\"");
    if (!rt.tool.empty() && !rt.ns.empty())
      throw std::invalid_argument("\"" + k + "\": has both \"tool\" and \"namespace\" (one, or neither with \"members\")");
    out.push_back(std::move(rt));
  }
  return out;
}

} // namespace

std::vector<route_rule> parse_routes(const json& routes) {
  if (!routes.is_object())
    throw std::invalid_argument("\"routes\": must be an object of rules by id");
  std::vector<route_rule> out;
  for (auto& [id, r] : routes.items()) {
    auto key = "routes." + id;
    if (!r.is_object())
      throw std::invalid_argument("\"" + key + "\": must be an object");
    route_rule rule;
    rule.id = id;
    bool has_targets = false;
    for (auto& [field, v] : r.items()) {
      auto k = key + "." + field;
      auto str = [&]() {
        if (!v.is_string())
          throw std::invalid_argument("\"" + k + "\": must be a string, got " + v.dump());
        return v.get<std::string>();
      };
      if (field == "priority") {
        if (!v.is_number_integer())
          throw std::invalid_argument("\"" + k + "\": must be an integer, got " + v.dump());
        rule.priority = v.get<int>();
      } else if (field == "tenant") {
        rule.tenant = str();
      } else if (field == "method") {
        rule.method = str();
      } else if (field == "name") {
        rule.name = str();
      } else if (field == "name_regex") {
        rule.name_regex = str();
      } else if (field == "headers") {
        if (!v.is_object())
          throw std::invalid_argument("\"" + k + "\": must be an object of header name to glob");
        for (auto& [h, g] : v.items()) {
          if (!g.is_string())
            throw std::invalid_argument("\"" + k + "." + h + "\": must be a string (a glob), got " + g.dump());
          auto lower = h;
          for (auto& c : lower)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          rule.headers.emplace_back(lower, g.get<std::string>());
        }
      } else if (field == "targets") {
        rule.targets = parse_targets(v, k);
        has_targets = true;
      } else if (field == "fallbacks") {
        rule.fallbacks = parse_targets(v, k);
      } else {
        throw std::invalid_argument("\"" + k + "\": unknown key (known keys: priority, tenant, method, name, "
                                    "name_regex, headers, targets, fallbacks)");
      }
    }
    if (!has_targets || rule.targets.empty())
      throw std::invalid_argument("\"" + key + ".targets\": a route needs at least one target");
    out.push_back(std::move(rule));
  }
  // Compile once here: a bad regex is a config error, named.
  try {
    route_table check{out, 0};
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string{"\"routes\": "} + e.what());
  }
  return out;
}

} // namespace cafmcp::protocol
