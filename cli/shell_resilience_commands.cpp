// The shell's commands on a node's resilience: breakers, limits (read, and set at run time).

#include "cli/shell.hpp"

#include <stdexcept>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/core_sup.hpp"
#include "base/duration_text.hpp"
#include "cli/detail/shell_support.hpp"
#include "cli/status_command.hpp"
#include "cli/text_table.hpp"
#include "cluster/admin_client.hpp"

namespace cafmcp::cli {

namespace {

using nlohmann::json;
using detail::shell_call_timeout;

std::string number_text(double x) {
  auto s = std::to_string(x);
  s.erase(s.find_last_not_of('0') + 1);
  if (!s.empty() && s.back() == '.')
    s.pop_back();
  return s;
}

json limit_json(const std::string& member, const actors::rate_limit& l) {
  return {{"node", member}, {"limit", l.scope}, {"on", l.on}, {"capacity", l.capacity},
          {"refill_per_second", l.refill_per_second}};
}

} // namespace

int shell::run_breakers(const shell_call& c) {
  if (c.args.size() > 1)
    return usage("breakers", c.err);
  if (!c.args.empty() && !known_member(c.args[0], c.err))
    return 1;
  auto members = c.args.empty() ? member_names() : std::vector<std::string>{c.args[0]};
  auto j = json::array();
  std::vector<std::vector<std::string>> rows{{"NODE", "BREAKER", "STATE", "FAILURES", "OPENED", "REFUSED", "TRIAL IN"}};
  int rc = 0;
  for (auto& m : members) {
    auto list = cluster::list_breakers({sys_, node_, m, shell_call_timeout});
    if (!list) {
      c.err << m << ": " << explain(list.error()) << '\n';
      rc = 1;
      continue;
    }
    for (auto& b : *list) {
      j.push_back({{"node", m}, {"breaker", b.key}, {"state", b.state}, {"failures", b.failures},
                   {"opened", b.opened}, {"refused", b.rejected}, {"retry_after_ms", b.retry_after_ms}});
      rows.push_back({m, b.key, b.state, std::to_string(b.failures), std::to_string(b.opened),
                      std::to_string(b.rejected),
                      b.state == "closed" ? "-" : seconds_text(std::chrono::milliseconds{b.retry_after_ms})});
    }
  }
  if (json_)
    c.out << j.dump(2) << '\n';
  else if (rows.size() == 1 && rc == 0)
    c.out << "no breaker has seen a call yet\n";
  else
    c.out << render_table(rows);
  return rc;
}

int shell::run_limits(const shell_call& c) {
  if (!c.args.empty() && c.args[0] == "set")
    return set_limit(c);
  if (c.args.size() > 1)
    return usage("limits", c.err);
  if (!c.args.empty() && !known_member(c.args[0], c.err))
    return 1;
  auto members = c.args.empty() ? member_names() : std::vector<std::string>{c.args[0]};
  auto j = json::array();
  std::vector<std::vector<std::string>> rows{{"NODE", "LIMIT", "CAPACITY", "PER SECOND", "REFUSED"}};
  int rc = 0;
  for (auto& m : members) {
    auto limits = cluster::rate_limits_of({sys_, node_, m, shell_call_timeout});
    if (!limits) {
      c.err << m << ": " << explain(limits.error()) << '\n';
      rc = 1;
      continue;
    }
    for (auto& l : *limits) {
      auto entry = limit_json(m, l);
      entry["refused"] = l.refused;
      j.push_back(entry);
      rows.push_back({m, l.scope, l.on ? number_text(l.capacity) : "off", l.on ? number_text(l.refill_per_second) : "-",
                      std::to_string(l.refused)});
    }
  }
  c.out << (json_ ? j.dump(2) + "\n" : render_table(rows));
  return rc;
}

int shell::set_limit(const shell_call& c) {
  // limits set SCOPE CAPACITY/PER_SECOND|off [NODE]
  if (c.args.size() < 3 || c.args.size() > 4)
    return usage("limits", c.err);
  actors::rate_limit limit{c.args[1], false, 0, 0};
  if (c.args[2] != "off") {
    try {
      auto rate = actors::parse_rate(c.args[2]);
      limit = {c.args[1], true, rate.capacity, rate.refill_per_second};
    } catch (const std::invalid_argument&) {
      c.err << "limits set: the limit must be CAPACITY/PER_SECOND (e.g. 20/5) or off, got \"" << c.args[2] << "\"\n";
      return 2;
    }
  }
  if (c.args.size() == 4 && !known_member(c.args[3], c.err))
    return 1;
  auto members = c.args.size() == 4 ? std::vector<std::string>{c.args[3]} : member_names();
  int rc = 0;
  for (auto& m : members) {
    auto after = cluster::set_rate_limit({sys_, node_, m, shell_call_timeout}, limit);
    if (!after) {
      c.err << m << ": " << explain(after.error()) << '\n';
      rc = 1;
      continue;
    }
    if (json_) {
      auto j = json::array();
      for (auto& l : *after)
        j.push_back(limit_json(m, l));
      c.out << j.dump(2) << '\n';
    } else {
      c.out << m << ": " << limit.scope
            << (limit.on ? " limited to bursts of " + number_text(limit.capacity) + ", "
                             + number_text(limit.refill_per_second) + " per second"
                         : " not limited")
            << '\n';
    }
  }
  return rc;
}

namespace {

json experiment_json(const std::string& member, const actors::chaos_experiment& x) {
  return {{"node", member},         {"id", x.id},           {"kind", x.kind},       {"what", x.what},
          {"state", x.state},       {"started_ms", x.started_ms}, {"ends_ms", x.ends_ms}, {"injected", x.injected}};
}

} // namespace

int shell::run_chaos(const shell_call& c) {
  // chaos list [NODE] | chaos start [NODE] SPEC | chaos stop [NODE] ID|all (SPEC last: JSON runs to the end)
  if (c.args.empty())
    return usage("chaos", c.err);
  auto& verb = c.args[0];
  size_t plain = verb == "list" ? 1 : 2; // the words without NODE
  if ((verb != "list" && verb != "start" && verb != "stop") || c.args.size() < plain || c.args.size() > plain + 1)
    return usage("chaos", c.err);
  bool named = c.args.size() == plain + 1;
  if (named && !known_member(c.args[1], c.err))
    return 1;
  auto members = named ? std::vector<std::string>{c.args[1]} : member_names();
  const std::string arg = verb == "list" ? std::string{} : c.args.back();
  auto j = json::array();
  std::vector<std::vector<std::string>> rows{{"NODE", "ID", "STATE", "FAULTS", "ENDS IN", "WHAT"}};
  auto now_ms =
    std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  auto add = [&](const std::string& m, const actors::chaos_experiment& x) {
    j.push_back(experiment_json(m, x));
    rows.push_back({m, x.id, x.state, std::to_string(x.injected),
                    x.state == "active" ? seconds_left(x.ends_ms, now_ms) : "-",
                    x.what});
  };
  int rc = 0;
  for (auto& m : members) {
    cluster::admin_target at{sys_, node_, m, shell_call_timeout};
    if (verb == "start") {
      auto x = cluster::chaos_start(at, arg);
      if (!x) {
        c.err << m << ": " << explain(x.error()) << '\n';
        rc = 1;
        continue;
      }
      add(m, *x);
      continue;
    }
    auto list = verb == "list" ? cluster::chaos_list(at) : cluster::chaos_stop(at, arg);
    if (!list) {
      c.err << m << ": " << explain(list.error()) << '\n';
      rc = 1;
      continue;
    }
    for (auto& x : *list)
      add(m, x);
  }
  if (json_)
    c.out << j.dump(2) << '\n';
  else if (rows.size() > 1)
    c.out << render_table(rows);
  else if (rc == 0)
    c.out << (verb == "list" ? "no experiment has run\n" : "nothing to stop\n");
  return rc;
}

} // namespace cafmcp::cli
