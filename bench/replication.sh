#!/usr/bin/env bash
# Replication figures of a 3-node local cluster (200 ms heartbeats, factor 2),
# with mutual TLS between the nodes (the default) and with cluster.insecure
# (plain BASP), in one run so that the cost of TLS is a ratio:
#  1. replicated writes per second: wrk posting session_set (MCP 2026-07-28) to
#     n1 over 64 handles, at consistency majority and at local (the cost of safety),
#     with cluster.replication.durability fsync (the default: every replica's WAL
#     fdatasync'ed before it counts) and memory, so the cost of fsync is a ratio;
#  2. heartbeat round trip between the nodes (cafmcp status);
#  3. failover time: kill -9 of a handle's primary → the first session_get
#     through a survivor that answers with the value (p50 / max over RUNS);
#  4. memory per session with its replica (TLS only): RSS of all nodes before
#     and after opening handles for SECONDS_PER_RUN, divided by the count.
# Prints its figures; asserts nothing. Usage: bash bench/replication.sh [path/to/cafmcp]
# (RUNS=5 SECONDS_PER_RUN=10 MODES="tls insecure" DURABILITIES="fsync memory")
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-build/bin/cafmcp}")
runs=${RUNS:-5}
secs=${SECONDS_PER_RUN:-10}
source bench/lib.sh
at_exit '"$bin" cluster down --data-dir "$work/c" >/dev/null 2>&1'
printf 'cookie-for-the-benchmark\n' > "$work/cookie"
chmod 600 "$work/cookie"
durabilities=${DURABILITIES:-fsync memory}
for dur in fsync memory; do
  cat > "$work/node.$dur.json" <<JSON
{"cluster": {"heartbeat_ms": 200, "unhealthy_after": 3, "split_brain": {"stable_after_ms": 600},
             "replication": {"durability": "$dur"}}}
JSON
done
cp "$work/node.fsync.json" "$work/node.json"

modes=${MODES:-tls insecure}
transport() { # the flags of MODE for cluster up, status and shell
  if [ "$1" = insecure ]; then echo --insecure; else echo --certs-dir "$work/certs"; fi
}
up() { # [CONFIG]
  base=$(( 20000 + RANDOM % 9000 ))
  # shellcheck disable=SC2046
  "$bin" cluster up --nodes 3 --base-port "$base" --data-dir "$work/c" --config "${1:-$work/node.json}" \
    --cookie-file "$work/cookie" $(transport "$mode") --detach > /dev/null
  port1=$((base + 1)); port2=$((base + 4)); port3=$((base + 7)); cport=$base
}
down() { "$bin" cluster down --data-dir "$work/c" > /dev/null 2>&1 || true; }
stats() { sort -n | awk '{a[NR]=$1} END {if (NR==0) {print "-\t-"; exit} printf "%d\t%d\n", a[int((NR+1)/2)], a[NR]}'; }

declare -A majority_rps
for mode in $modes; do
for dur in $durabilities; do
echo "== [$mode, durability $dur] replicated writes per second (3 nodes, factor 2, wrk -t1 -c16 -d${secs}s to n1)"
up "$work/node.$dur.json"
sleep 1
rm -rf "$work/handles"
: > "$work/handles"
for _ in $(seq 1 64); do open_handle "$port1" >> "$work/handles"; done
for level in majority local; do
  wrk_session_set "$work/handles" "$level" > "$work/set.lua"
  out=$(wrk -t1 -c16 -d"${secs}s" --latency -s "$work/set.lua" "http://127.0.0.1:$port1")
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  errors=$(echo "$out" | awk '/Non-2xx/ {print $5}')
  printf '%-9s %10s writes/s   p99 %-8s non-2xx %s\n' "$level" "$rps" "$p99" "${errors:-0}"
  [ "$level" = majority ] && majority_rps[$mode.$dur]=$rps
done
if [ "$dur" != "$(echo $durabilities | awk '{print $NF}')" ]; then down; fi
done
# A sample of the writes must read back (the figures count only real writes).
h=$(head -1 "$work/handles")
call "$port3" session_get "{\"handle\":\"$h\",\"key\":\"k\"}" | grep -q '"value"' || echo "WARNING: a written handle did not read back"
# shellcheck disable=SC2046
"$bin" status --node "127.0.0.1:$cport" --cookie-file "$work/cookie" $(transport "$mode") --json |
  python3 -c 'import json,sys; r=[x["heartbeat_rtt_ms"] for x in json.load(sys.stdin) if x.get("heartbeat_rtt_ms") is not None]; print("heartbeat round trip: %.2f ms (mean of %d peers, seen from n1)" % (sum(r)/len(r), len(r)) if r else "heartbeat round trip: -")'
if [ "$mode" != tls ]; then down; fi
if [ "$mode" = tls ]; then

echo "== memory per session with its replica (session_open for ${secs}s through wrk)"
rss() { local t=0; for p in $(awk '{print $2}' "$work/c/cluster.pids"); do t=$((t + $(awk '/VmRSS/ {print $2}' "/proc/$p/status"))); done; echo "$t"; }
cat > "$work/open.lua" <<LUA
$(wrk_mcp_headers session_open)
wrk.body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"session_open","arguments":{},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}'
LUA
before=$(rss)
wrk -t1 -c16 -d"${secs}s" -s "$work/open.lua" "http://127.0.0.1:$port1/mcp" > /dev/null
sleep 2 # replication settles
after=$(rss)
# shellcheck disable=SC2046
count=$("$bin" status --node "127.0.0.1:$cport" --cookie-file "$work/cookie" $(transport "$mode") --json |
  python3 -c 'import json,sys; print(sum((r.get("replication") or {}).get("primaries", 0) for r in json.load(sys.stdin)))')
echo "sessions: $count; RSS of the 3 nodes: $before kB → $after kB: $(( (after - before) * 1024 / (count > 0 ? count : 1) )) bytes per session (primary + backup)"
down
fi

echo "== [$mode] failover time: kill -9 of the primary → the next session_get answered by a survivor ($runs runs)"
: > "$work/failover"
for _ in $(seq 1 "$runs"); do
  up
  sleep 1
  h=$(open_handle "$port1")
  call "$port1" session_set "{\"handle\":\"$h\",\"key\":\"k\",\"value\":\"v\"}" > /dev/null
  # shellcheck disable=SC2046
  primary=$("$bin" shell --node "127.0.0.1:$cport" --cookie-file "$work/cookie" $(transport "$mode") -c sessions |
    awk -v h="$h" '$2==h {print $1}')
  pid=$(awk -v n="$primary" '$1==n {print $2}' "$work/c/cluster.pids")
  survivor=$port1
  [ "$primary" = n1 ] && survivor=$port2
  t0=$(date +%s%3N)
  kill -9 "$pid"
  for _ in $(seq 1 500); do
    call "$survivor" session_get "{\"handle\":\"$h\",\"key\":\"k\"}" | grep -q '"value":"v"' && break
    sleep 0.01
  done
  echo $(( $(date +%s%3N) - t0 )) >> "$work/failover"
  down
done
printf 'failover p50 / max: %s ms\n' "$(stats < "$work/failover" | tr '\t' '/')"
done
if [ -n "${majority_rps[tls.fsync]:-}" ] && [ -n "${majority_rps[insecure.fsync]:-}" ]; then
  python3 -c "import sys; t, p = float(sys.argv[1]), float(sys.argv[2]); print('TLS / insecure, majority writes/s: %.2f (TLS costs %.0f %%)' % (t / p, 100 * (1 - t / p)))" \
    "${majority_rps[tls.fsync]}" "${majority_rps[insecure.fsync]}"
fi
for mode in $modes; do
  if [ -n "${majority_rps[$mode.fsync]:-}" ] && [ -n "${majority_rps[$mode.memory]:-}" ]; then
    python3 -c "import sys; f, m = float(sys.argv[1]), float(sys.argv[2]); print('[%s] fsync / memory, majority writes/s: %.2f (fsync costs %.0f %%; goal <= 25 %%)' % (sys.argv[3], f / m, 100 * (1 - f / m)))" \
      "${majority_rps[$mode.fsync]}" "${majority_rps[$mode.memory]}" "$mode"
  fi
done
