#!/usr/bin/env bash
# Installs every Debian 12 package cafmcp's build, tests and benchmarks need.
# Idempotent: packages already present are left alone. Needs root (or sudo).
set -euo pipefail

packages=(
  # toolchain
  g++ cmake ninja-build pkg-config
  clang libclang-rt-14-dev   # libFuzzer for tests/fuzz
  # libraries (see docs/ARCHITECTURE.md, "Dependencies")
  libcaf-dev            # CAF 0.17: caf_core, caf_io, caf_openssl
  nlohmann-json3-dev    # JSON
  doctest-dev           # unit tests
  libboost-dev          # Beast/Asio (HTTP), header-only
  libcli11-dev          # command line
  libedit-dev           # admin shell line editing
  libssl-dev            # SHA-256, HMAC, AES-GCM
  libcurl4-openssl-dev  # fetching an identity provider's JWKS URL
  libzstd-dev           # compressing backups
  libbenchmark-dev      # Google Benchmark
  # test tools
  procps                # pgrep/ps for process tests
  curl                  # README examples, bench/mcp_load.sh
  wrk                   # HTTP load generator for bench/mcp_load.sh
  linux-perf            # bench/mcp_profile.sh: where an MCP request's time goes
  iproute2              # ip netns, veth, bridges for the netns cluster tests
  iptables              # DROP rules inside a namespace (partitions)
  openssl               # test certificates for TLS between nodes
  tmux                  # drives the interactive admin shell in its test
  python3 python3-yaml  # deploy/check-deploy-files.py (Kubernetes YAML)
  prometheus            # promtool checks /metrics; a real Prometheus scrapes a node in a test
  chromium              # the dashboard test (headless, driven by playwright-core from npm)
)

# The interop tests run the official MCP TypeScript SDKs (Node >= 20). Machines
# of this kind ship Node 20 with npm; install Debian's only where none is.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: done"
