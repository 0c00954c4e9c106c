#!/usr/bin/env bash
# Installs the interop test clients from package-lock.json (npm ci), unless
# node_modules already holds exactly that lock file's packages.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "interop: node and npm are needed (bash deploy/install-deps.sh)" >&2
  exit 1
fi
stamp=node_modules/.cafmcp-lock-sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
echo "$want" > "$stamp"
