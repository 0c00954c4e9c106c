// `cafmcp audit verify`: checks an audit log's keyed chain.
#include "cli/audit_command.hpp"

#include <fstream>
#include <iostream>
#include <stdexcept>

#include "base/audit_key.hpp"
#include "base/audit_log.hpp"

namespace cafmcp::cli {

int run_audit_verify(const std::string& file, const std::string& key_file) {
  std::ifstream in{file};
  if (!in) {
    std::cerr << "cafmcp audit verify: cannot read " << file << '\n';
    return 2;
  }
  std::string key;
  try {
    key = audit::load_audit_key(key_file, false);
  } catch (const std::exception& e) {
    std::cerr << "cafmcp audit verify: cannot verify " << file << " without its key: " << e.what()
              << " (the node's admin.audit_key_file; pass it with --key)\n";
    return 2;
  }
  auto v = audit::verify_audit_log(in, key);
  if (v.broken_line != 0) {
    std::cerr << file << ": the chain breaks at line " << v.broken_line << ": " << v.why
              << " (the log was changed at that line or before it)\n";
    return 1;
  }
  std::cout << file << ": " << v.records << " record(s), chain intact\n";
  return 0;
}

} // namespace cafmcp::cli
