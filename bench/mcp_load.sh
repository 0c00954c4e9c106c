#!/usr/bin/env bash
# MCP load benchmark: tools/call echo over Streamable HTTP, with wrk, against
#   the limit probe (../shared/bench/limit-probe, mode B: Beast + JSON parse/dump, no MCP)
#   cafmcp (modern stateless 2026-07-28, and a legacy session)
#   the official TypeScript SDK v2 server (stateless)   bench/reference/
#   the official TypeScript SDK v1 server (sessions)    bench/reference/
# at 4 and 32 connections; prints req/s and p50/p95/p99, and the ratios to the probe
# (the goals) and to the better TypeScript server.
# Usage: bash bench/mcp_load.sh [path/to/cafmcp]   (DURATION=10 seconds per run)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/bin/cafmcp}
duration=${DURATION:-10}
command -v wrk >/dev/null || { echo "mcp_load: wrk is needed (bash deploy/install-deps.sh)" >&2; exit 1; }
source bench/lib.sh

(cd bench/reference && { [ -f node_modules/.cafmcp-lock-sha256 ] && [ "$(cat node_modules/.cafmcp-lock-sha256)" = "$(sha256sum package-lock.json | cut -d' ' -f1)" ]; } \
  || { npm ci --no-audit --no-fund --loglevel=error && sha256sum package-lock.json | cut -d' ' -f1 > node_modules/.cafmcp-lock-sha256; })

"$bin" node --http-port 0 --metrics-port 0 --log-level info 2> "$work/cafmcp.log" & pids+=($!)
caf_ready=$(wait_ready "$work/cafmcp.log")
caf_port=$(ready_port "$caf_ready" mcp)
node bench/reference/v2_stateless_server.mjs 0 > "$work/v2.log" 2>&1 & pids+=($!)
v2_port=$(wait_for "$work/v2.log" 'LISTENING ([0-9]+)')
node bench/reference/v1_session_server.mjs 0 > "$work/v1.log" 2>&1 & pids+=($!)
v1_port=$(wait_for "$work/v1.log" 'LISTENING ([0-9]+)')

probe_port=$(start_limit_probe)
caf_sid=$(open_session "$caf_port")
v1_sid=$(open_session "$v1_port")

declare -A rps p50 p95 p99 errs
run() { # name port mode session conns
  local name=$1 port=$2 mode=$3 sid=$4 conns=$5 line
  line=$(MCP_MODE=$mode MCP_SESSION=$sid wrk -t1 -c"$conns" -d"${duration}s" -s bench/mcp_echo.lua \
           "http://127.0.0.1:$port/mcp" | grep '^RESULT')
  local key="$name/c$conns"
  rps[$key]=$(sed -E 's/.*rps=([0-9]+).*/\1/' <<<"$line")
  p50[$key]=$(sed -E 's/.*p50_us=([0-9]+).*/\1/' <<<"$line")
  p95[$key]=$(sed -E 's/.*p95_us=([0-9]+).*/\1/' <<<"$line")
  p99[$key]=$(sed -E 's/.*p99_us=([0-9]+).*/\1/' <<<"$line")
  errs[$key]=$(sed -E 's/.*errors=([0-9]+).*/\1/' <<<"$line")
}

servers="cafmcp-modern ts-v2-stateless cafmcp-legacy ts-v1-sessions"
[ -n "$probe_port" ] && servers="limit-probe $servers"
for c in 4 32; do
  [ -n "$probe_port" ] && run limit-probe "$probe_port" modern "" "$c"
  run cafmcp-modern "$caf_port" modern "" "$c"
  run ts-v2-stateless "$v2_port" modern "" "$c"
  run cafmcp-legacy "$caf_port" legacy "$caf_sid" "$c"
  run ts-v1-sessions "$v1_port" legacy "$v1_sid" "$c"
done

ms() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1000 }'; }
echo
echo "tools/call echo over Streamable HTTP, wrk -t1, ${duration}s per run ($(nproc) cores, shared with wrk)"
printf '%-18s %5s %10s %9s %9s %9s %7s\n' server conns "req/s" "p50 ms" "p95 ms" "p99 ms" errors
for c in 4 32; do
  for n in $servers; do
    k="$n/c$c"
    printf '%-18s %5s %10s %9s %9s %9s %7s\n' "$n" "$c" "${rps[$k]}" "$(ms "${p50[$k]}")" "$(ms "${p95[$k]}")" \
      "$(ms "${p99[$k]}")" "${errs[$k]}"
  done
done
echo
echo "ratios against the better TypeScript server at the same connections:"
for c in 4 32; do
  best=ts-v2-stateless
  if [ "${rps[ts-v1-sessions/c$c]}" -gt "${rps[ts-v2-stateless/c$c]}" ]; then best=ts-v1-sessions; fi
  for n in cafmcp-modern cafmcp-legacy; do
    awk -v n="$n" -v c="$c" -v b="$best" -v r="${rps[$n/c$c]}" -v br="${rps[$best/c$c]}" \
        -v p="${p99[$n/c$c]}" -v bp="${p99[$best/c$c]}" \
        'BEGIN { printf "  c%-3s %-14s %6.1fx the req/s of %s, p99 %5.3f of its p99\n", c, n, r / br, b, p / bp }'
  done
done
if [ -n "$probe_port" ]; then
  echo
  echo "ratios to the limit probe's req/s in this run (goals: modern >= 0.7, legacy >= 0.6; p99 <= 0.5 ms at c4):"
  for c in 4 32; do
    for n in cafmcp-modern cafmcp-legacy; do
      awk -v n="$n" -v c="$c" -v r="${rps[$n/c$c]}" -v pr="${rps[limit-probe/c$c]}" -v p="${p99[$n/c$c]}" \
        'BEGIN { printf "  c%-3s %-14s %5.2f of the probe (%d / %d req/s), p99 %.2f ms\n", c, n, r / pr, r, pr, p / 1000 }'
    done
  done
fi
