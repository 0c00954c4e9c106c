#!/usr/bin/env bash
# Regenerates the key table in docs/CONFIG.md from the binary's own schema
# (`cafmcp node --describe-config`). Usage: docs/update-config-reference.sh [path/to/cafmcp]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/bin/cafmcp}
table=$(mktemp)
"$bin" node --describe-config > "$table"
awk -v table="$table" '
  /^\| key \| type \|/ { while ((getline line < table) > 0) print line; skipping = 1; next }
  skipping && /^\|/ { next }
  { skipping = 0; print }
' docs/CONFIG.md > docs/CONFIG.md.new
mv docs/CONFIG.md.new docs/CONFIG.md
rm -f "$table"
echo "docs/CONFIG.md updated"
