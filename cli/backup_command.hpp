#pragma once

// `cafmcp backup keygen | create | verify | restore | test-restore`:
// encrypted backups of the cluster's MCP state (cluster/backup_job.hpp,
// cluster/backup_file.hpp). Exit codes: 0 done, 1 failed (named on
// stderr), 2 bad usage.

#include <string>

#include "cli/cluster_connection.hpp"

namespace cafmcp::cli {

struct backup_options {
  connection_options connection;
  std::string file;             // --out for create; FILE for the others
  std::string key_file;         // 32 bytes, mode 0600
  std::string passphrase_file;  // else CAFMCP_BACKUP_PASSPHRASE, else the terminal
  bool overwrite = false;       // restore: the backup's values win over newer ones
  bool json = false;
};

int run_backup_keygen(const backup_options& opts);
int run_backup_create(const backup_options& opts);
int run_backup_verify(const backup_options& opts);
int run_backup_restore(const backup_options& opts);
int run_backup_test_restore(const backup_options& opts);

} // namespace cafmcp::cli
