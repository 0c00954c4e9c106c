#!/usr/bin/env bash
# Replicated writes over MCP against the machine's HTTP ceiling, in one run (#20):
#  - the limit probe (../shared/bench/limit-probe, mode B) under wrk -t1 -c18;
#  - a 3-node cluster (TLS between nodes, factor 2, consistency majority) with
#    cluster.replication.durability memory, then fsync: session_set (MCP 2026-07-28)
#    through all three nodes at once, one wrk -t1 -c6 per node, on 64 handles;
# and prints writes/s as ratios to the probe (goals: >= 0.5 with memory, >= 0.4 with fsync).
# With PROFILE=1 (needs perf) it also prints where n1's time goes during the memory run.
# Usage: bash bench/replicated_writes.sh [path/to/cafmcp]   (SECONDS_PER_RUN=10, PROFILE=0|1)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-build/bin/cafmcp}")
secs=${SECONDS_PER_RUN:-10}
command -v wrk >/dev/null || { echo "replicated_writes: wrk is needed (bash deploy/install-deps.sh)" >&2; exit 1; }
source bench/lib.sh
at_exit '"$bin" cluster down --data-dir "$work/c" >/dev/null 2>&1'
printf 'cookie-for-the-benchmark\n' > "$work/cookie"
chmod 600 "$work/cookie"

probe_port=$(start_limit_probe)
[ -n "$probe_port" ] || { echo "replicated_writes: the ratios need the limit probe" >&2; exit 1; }
probe=$(MCP_MODE=modern wrk -t1 -c18 -d"${secs}s" -s bench/mcp_echo.lua "http://127.0.0.1:$probe_port/mcp" | grep '^RESULT')
probe_rps=$(sed -E 's/.*rps=([0-9]+).*/\1/' <<<"$probe")
echo "limit probe (mode B), wrk -t1 -c18, ${secs}s: $probe_rps req/s"

open_handle_when_ready() { # (bounded) a new cluster's replicators may still be reading their members
  local h
  for _ in $(seq 1 100); do
    h=$(open_handle "$1" || true)
    [ -n "$h" ] && { echo "$h"; return 0; }
    sleep 0.1
  done
  return 1
}
declare -A rps
for dur in memory fsync; do
  cat > "$work/node.json" <<JSON
{"cluster": {"heartbeat_ms": 200, "replication": {"durability": "$dur"}}}
JSON
  base=$(( 20000 + RANDOM % 9000 ))
  "$bin" cluster up --nodes 3 --base-port "$base" --data-dir "$work/c" --config "$work/node.json" \
    --cookie-file "$work/cookie" --certs-dir "$work/certs" --detach > /dev/null
  ports="$((base + 1)) $((base + 4)) $((base + 7))"
  : > "$work/handles"
  for _ in $(seq 1 64); do open_handle_when_ready "$((base + 1))" >> "$work/handles"; done
  [ "$(grep -c . "$work/handles")" -eq 64 ] || { echo "replicated_writes: could not open 64 handles" >&2; exit 1; }
  wrk_session_set "$work/handles" > "$work/set.lua"
  k=0
  for p in $ports; do
    k=$((k + 1))
    wrk -t1 -c6 -d"${secs}s" --latency -s "$work/set.lua" "http://127.0.0.1:$p" > "$work/wrk.$k" &
  done
  if [ "${PROFILE:-0}" = 1 ] && [ "$dur" = memory ]; then
    sleep 1
    n1_pid=$(awk 'NR == 1 { print $2 }' "$work/c/cluster.pids")
    perf record -q -F 500 --call-graph dwarf,16384 -p "$n1_pid" -o "$work/perf.data" -- sleep "$((secs > 4 ? secs - 3 : 1))" 2> /dev/null
  fi
  wait $(jobs -p | tail -3)
  total=0; worst=0; bad=0
  for k in 1 2 3; do
    r=$(awk '/Requests\/sec/ {printf "%d", $2}' "$work/wrk.$k")
    p=$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}' "$work/wrk.$k")
    e=$(awk '/Non-2xx/ {print $5}' "$work/wrk.$k")
    total=$((total + r)); bad=$((bad + ${e:-0}))
    worst=$(awk -v a="$worst" -v b="$p" 'BEGIN { print (b > a ? b : a) }')
  done
  rps[$dur]=$total
  printf 'durability %-6s %7d majority writes/s through 3 nodes (p99 of the worst node %.1f ms, non-2xx %d): %.3f of the probe\n' \
    "$dur" "$total" "$worst" "$bad" "$(awk -v a="$total" -v b="$probe_rps" 'BEGIN { print a / b }')"
  "$bin" cluster down --data-dir "$work/c" > /dev/null 2>&1 || true
  rm -rf "$work/c"
  if [ -f "$work/perf.data" ]; then
    echo "where n1's time goes (durability memory; share of samples, innermost phase):"
    perf script -i "$work/perf.data" 2> /dev/null | python3 bench/perf_phases.py
    rm -f "$work/perf.data"
  fi
done
echo
awk -v m="${rps[memory]}" -v f="${rps[fsync]}" -v p="$probe_rps" 'BEGIN {
  printf "goals: memory >= 0.5 of the probe: %.3f (%s); fsync >= 0.4: %.3f (%s)\n", m / p, ((m / p >= 0.5) ? "met" : "not met"), f / p, ((f / p >= 0.4) ? "met" : "not met") }'
