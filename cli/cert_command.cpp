// `cafmcp cert`: create-ca, create-node, create-client and list over base/certificate.
#include "cli/cert_command.hpp"

#include <ctime>
#include <iostream>

#include "cli/text_table.hpp"

namespace cafmcp::cli {

namespace {

std::string dir_of(const cert_options& opts) {
  return opts.certs_dir.empty() ? certs::default_certs_dir() : opts.certs_dir;
}

std::string ca_key_of(const cert_options& opts) {
  return opts.ca_key.empty() ? certs::ca_key_path(dir_of(opts)) : opts.ca_key;
}

/// Runs one cert operation: its error becomes `cafmcp cert: …` and exit 1.
template <class F>
int attempt(F&& f) {
  try {
    f();
    return 0;
  } catch (const certs::cert_error& e) {
    std::cerr << "cafmcp cert: " << e.what() << '\n';
    return 1;
  }
}

std::string kind_of(const std::string& file) {
  if (file == "ca.crt")
    return "ca";
  if (file.rfind("node.", 0) == 0)
    return "node";
  if (file.rfind("client.", 0) == 0)
    return "client";
  return "other";
}

std::string utc_date(int64_t unix_seconds) {
  auto t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

} // namespace

int run_cert_create_ca(const cert_options& opts) {
  auto dir = dir_of(opts);
  return attempt([&] {
    certs::create_ca(dir);
    std::cout << "wrote " << certs::ca_cert_path(dir) << " (give it to every node and client)\n"
              << "wrote " << certs::ca_key_path(dir) << " (keep it off the nodes)\n";
  });
}

int run_cert_create_node(const cert_options& opts) {
  auto dir = dir_of(opts);
  // A node without --host is one for a local cluster.
  auto hosts = opts.hosts.empty() ? std::vector<std::string>{"127.0.0.1", "localhost"} : opts.hosts;
  return attempt([&] {
    certs::create_node(dir, ca_key_of(opts), opts.name, hosts);
    std::cout << "wrote " << certs::node_cert_path(dir, opts.name) << '\n'
              << "wrote " << certs::node_key_path(dir, opts.name) << '\n';
  });
}

int run_cert_create_client(const cert_options& opts) {
  auto dir = dir_of(opts);
  return attempt([&] {
    certs::create_client(dir, ca_key_of(opts), opts.name, opts.role);
    std::cout << "wrote " << certs::client_cert_path(dir, opts.name) << " (role " << opts.role << ")\n"
              << "wrote " << certs::client_key_path(dir, opts.name) << '\n';
  });
}

int run_cert_list(const cert_options& opts) {
  return attempt([&] { std::cout << render_cert_list(certs::list(dir_of(opts))); });
}

std::string render_cert_list(const std::vector<std::pair<std::string, certs::identity>>& list) {
  std::vector<std::vector<std::string>> rows{{"FILE", "KIND", "NAME", "ROLE", "EXPIRES", "FINGERPRINT"}};
  for (auto& [file, id] : list) {
    auto kind = kind_of(file);
    rows.push_back({file, kind, id.name, kind == "ca" || id.role.empty() ? "-" : id.role, utc_date(id.not_after),
                    id.fingerprint.substr(0, 16)});
  }
  return render_table(rows);
}

} // namespace cafmcp::cli
