// `cafmcp routes list|test`: a config's routing rules, and how a sample request is routed.
#include "cli/routes_command.hpp"

#include <algorithm>
#include <cctype>
#include <iostream>
#include <memory>
#include <set>

#include "cli/node_config.hpp"
#include "cli/text_table.hpp"
#include "protocol/route_table.hpp"

namespace cafmcp::cli {

namespace {

/// The config's rules as the node would build them; null after printing
/// why not.
std::unique_ptr<protocol::route_table> load(const std::string& file, const char* cmd) {
  try {
    auto cfg = load_node_config(file, node_overrides{});
    return std::make_unique<protocol::route_table>(cfg.routes, 1);
  } catch (const std::exception& e) {
    std::cerr << "cafmcp routes " << cmd << ": bad config: " << e.what() << '\n';
    return nullptr;
  }
}

std::string targets_text(const std::vector<protocol::route_target>& ts) {
  std::string out;
  for (auto& t : ts)
    out += (out.empty() ? "" : ", ") + t.describe();
  return out.empty() ? "-" : out;
}

} // namespace

std::string render_routes(const protocol::route_table* table, uint64_t version) {
  if (!table || table->rules().empty())
    return "rules version " + std::to_string(version) + ": no rules, every call goes to the tool it names\n";
  std::vector<std::vector<std::string>> rows{{"ROUTE", "PRIORITY", "TENANT", "METHOD", "NAME", "HEADERS", "TARGETS", "FALLBACKS"}};
  for (auto& r : table->rules()) {
    std::string headers;
    for (auto& [h, g] : r.headers)
      headers += (headers.empty() ? "" : ", ") + h + "=" + g;
    auto name = r.name_regex.empty() ? r.name : (r.name == "*" ? "" : r.name + " ") + "/" + r.name_regex + "/";
    rows.push_back({r.id, std::to_string(r.priority), r.tenant.empty() ? "(none)" : r.tenant, r.method, name,
           headers.empty() ? "-" : headers, targets_text(r.targets), targets_text(r.fallbacks)});
  }
  return "rules version " + std::to_string(version) + " (decision order):\n" + render_table(rows);
}

int run_routes_list(const routes_options& opts) {
  auto table = load(opts.config_file, "list");
  if (!table)
    return 2;
  if (table->rules().empty()) {
    std::cout << "no routing rules in " << opts.config_file << ": every call goes to the tool it names\n";
    return 0;
  }
  std::cout << render_routes(table.get(), table->version());
  return 0;
}

int explain_route(const protocol::route_table& table, const routes_options& opts, std::ostream& out,
                  std::ostream& err, const std::string& cmd) {
  std::vector<std::pair<std::string, std::string>> headers;
  for (auto& h : opts.headers) {
    auto colon = h.find(':');
    if (colon == std::string::npos || colon == 0) {
      err << cmd << ": --header needs \"Name: value\", got \"" << h << "\"\n";
      return 2;
    }
    auto name = h.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    auto value = h.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    headers.emplace_back(name, value);
  }
  std::set<std::string> down(opts.down.begin(), opts.down.end());
  // --down names tools and members alike.
  auto available = [&](const std::string& tool, const std::string& member) {
    return !down.count(tool) && (member.empty() || !down.count(member));
  };
  protocol::route_request req{opts.tenant, opts.method, opts.name,
                              [&](const std::string& h) -> std::optional<std::string> {
                                for (auto& [name, value] : headers)
                                  if (name == h)
                                    return value;
                                return std::nullopt;
                              }};
  for (auto& line : table.explain(req, available))
    out << line << '\n';
  std::string unavailable;
  auto d = table.decide(req, 0.0, available, &unavailable);
  if (!d && !unavailable.empty()) {
    out << "refused: nothing of route " << unavailable << " is available (-32031)\n";
    return 1;
  }
  return 0;
}

int run_routes_test(const routes_options& opts) {
  auto table = load(opts.config_file, "test");
  if (!table)
    return 2;
  return explain_route(*table, opts, std::cout, std::cerr, "cafmcp routes test");
}

} // namespace cafmcp::cli
