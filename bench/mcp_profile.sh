#!/usr/bin/env bash
# Where an MCP request's time goes: a node under wrk load (tools/call echo, 2026-07-28 or a
# legacy session), sampled with perf (call graphs from DWARF), each sample given to the
# innermost phase it is in (bench/perf_phases.py): JSON parse, schema validation, the
# endpoint's dispatch, the tool, the response's dump, Beast, the kernel's send and receive.
# Also prints the node's CPU time per request.
# Usage: bash bench/mcp_profile.sh [path/to/cafmcp]   (MODE=modern|legacy, CONNS=4, SECONDS_PER_RUN=4)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/bin/cafmcp}
mode=${MODE:-modern}
conns=${CONNS:-4}
seconds=${SECONDS_PER_RUN:-4}
for tool in wrk perf python3; do
  command -v "$tool" >/dev/null || { echo "mcp_profile: $tool is needed (bash deploy/install-deps.sh)" >&2; exit 1; }
done
source bench/lib.sh

"$bin" node --http-port 0 --metrics-port 0 --log-level info 2> "$work/cafmcp.log" & pids+=($!)
node_pid=$!
port=$(ready_port "$(wait_ready "$work/cafmcp.log")" mcp)
sid=""
if [ "$mode" = legacy ]; then
  sid=$(open_session "$port")
fi
load() { MCP_MODE=$mode MCP_SESSION=$sid wrk -t1 -c"$conns" -d"$1s" -s bench/mcp_echo.lua "http://127.0.0.1:$port/mcp" | grep '^RESULT'; }
load 2 > /dev/null # warm up

# CPU time per request, without perf attached.
cpu() { awk '{ print $14 + $15 }' "/proc/$node_pid/stat"; }
t0=$(cpu); line=$(load "$seconds"); t1=$(cpu)
requests=$(sed -E 's/.*requests=([0-9]+).*/\1/' <<<"$line")
echo "$mode, wrk -t1 -c$conns, ${seconds}s: $line"
awk -v a="$t0" -v b="$t1" -v r="$requests" -v hz="$(getconf CLK_TCK)" \
  'BEGIN { printf "node CPU per request: %.1f us (all its threads)\n", (b - a) / hz * 1e6 / r }'

# The profile, under the same load.
load "$((seconds + 2))" > /dev/null &
load_pid=$!
sleep 1
perf record -q -F 1000 --call-graph dwarf,16384 -p "$node_pid" -o "$work/perf.data" -- sleep "$seconds" 2> /dev/null
wait "$load_pid"
echo
echo "where the node's time goes (share of samples, innermost phase):"
perf script -i "$work/perf.data" 2> /dev/null | python3 bench/perf_phases.py
