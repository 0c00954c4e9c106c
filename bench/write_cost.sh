#!/usr/bin/env bash
# Does a write cost its change or its record? On a 3-node local cluster
# (factor 2, majority, durability fsync), replicated session_set writes per
# second on handles holding one key, then on handles grown to KEYS keys
# (default 10000), each write changing one key. The goal (docs/PERFORMANCE.md):
# the large handles within 10 % of the small ones. Prints its figures; asserts
# nothing. Usage: bash bench/write_cost.sh [path/to/cafmcp]
# (KEYS=10000 HANDLES=8 SECONDS_PER_RUN=6)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-build/bin/cafmcp}")
keys=${KEYS:-10000}
nhandles=${HANDLES:-8}
secs=${SECONDS_PER_RUN:-6}
source bench/lib.sh
at_exit '"$bin" cluster down --data-dir "$work/c" >/dev/null 2>&1'
printf 'cookie-for-the-benchmark\n' > "$work/cookie"
chmod 600 "$work/cookie"
cat > "$work/node.json" <<'JSON'
{"cluster": {"heartbeat_ms": 200, "unhealthy_after": 3, "split_brain": {"stable_after_ms": 600}}}
JSON
base=$(( 20000 + RANDOM % 9000 ))
"$bin" cluster up --nodes 3 --base-port "$base" --data-dir "$work/c" --config "$work/node.json" \
  --cookie-file "$work/cookie" --certs-dir "$work/certs" --detach > /dev/null
port1=$((base + 1))
open_handles() { # FILE
  : > "$1"
  for _ in $(seq 1 "$nhandles"); do
    for _ in $(seq 1 50); do
      h=$(open_handle "$port1" || true)
      [ -n "$h" ] && break
      sleep 0.1
    done
    echo "$h" >> "$1"
  done
}
# A wrk script of session_set over the handles in FILE: key "k" (MODE same)
# or a new key each time (MODE grow: keys gCHUNK-1, gCHUNK-2 … per handle).
set_lua() { # FILE MODE CHUNK
  cat <<LUA
local handles = {}
for line in io.lines("$1") do handles[#handles + 1] = line end
local i = 0
$(wrk_mcp_headers session_set)
request = function()
  i = i + 1
  local h = handles[(i % #handles) + 1]
  local key = "k"
  if "$2" == "grow" then key = "g$3-" .. math.floor(i / #handles) end
  local body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"session_set","arguments":{"handle":"'
    .. h .. '","key":"' .. key .. '","value":"value-' .. i .. '"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}'
  return wrk.format(nil, "/mcp", nil, body)
end
LUA
}
sleep 1
open_handles "$work/small"
open_handles "$work/large"
echo "== growing $nhandles handles to $keys keys each ($((nhandles * keys)) writes)"
started=$(date +%s)
# Runs of 5 s, each writing new keys, until enough writes were answered (bounded).
written=0
for chunk in $(seq 1 120); do
  set_lua "$work/large" grow "$chunk" > "$work/grow.lua"
  out=$(wrk -t1 -c16 -d5s -s "$work/grow.lua" "http://127.0.0.1:$port1")
  written=$((written + $(awk '/requests in/ {print $1}' <<<"$out")))
  [ "$written" -ge $((nhandles * keys)) ] && break
done
echo "$written keys written"
echo "grown in $(( $(date +%s) - started )) s"
run() { # FILE
  set_lua "$1" same 1 > "$work/same.lua"
  wrk -t1 -c8 -d"${secs}s" --latency -s "$work/same.lua" "http://127.0.0.1:$port1"
}
small=$(run "$work/small")
large=$(run "$work/large")
rps() { awk '/Requests\/sec/ {print $2}' <<<"$1"; }
p99() { awk '$1=="99%" {print $2}' <<<"$1"; }
echo "== session_set through n1 (wrk -t1 -c8 -d${secs}s, majority, fsync), one key changed per write"
printf 'handles of 1 key:        %10s writes/s  p99 %s\n' "$(rps "$small")" "$(p99 "$small")"
printf 'handles of %-6s keys:  %10s writes/s  p99 %s\n' "$keys" "$(rps "$large")" "$(p99 "$large")"
python3 -c "import sys; s,l=float(sys.argv[1]),float(sys.argv[2]); print('ratio large/small: %.2f (goal >= 0.90)' % (l/s))" \
  "$(rps "$small")" "$(rps "$large")"
