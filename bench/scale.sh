#!/usr/bin/env bash
# How a 3-node local cluster (factor 2, durability fsync) behaves as it holds
# more state handles: for each size in SIZES (default "1000 100000"; add
# 1000000 for the goal's million), a fresh cluster gets that many handles by
# `cafmcp backup restore` of a seeded file (bench/seed_backup), then:
#  1. memory per handle with its replica (RSS of the three nodes, after - before);
#  2. session_get through n1 on random handles (wrk -t1 -c4), p50 / p99;
#  3. restart of n2 (SIGTERM, then the same command line) back to its ready line.
# Prints its figures and the p99 ratio of the largest size to the smallest;
# asserts nothing. Usage: bash bench/scale.sh [build/bin/cafmcp [build/bin/seed_backup]]
# (SIZES="1000 100000 1000000" SECONDS_PER_RUN=6 SNAPSHOT_MS=60000: snapshot_interval_ms;
#  PROFILE=1: perf records the restarted n2 until its records are loaded and prints where its time went)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-build/bin/cafmcp}")
seed=$(realpath "${2:-$(dirname "$bin")/seed_backup}")
sizes=${SIZES:-1000 100000}
secs=${SECONDS_PER_RUN:-6}
source bench/lib.sh
at_exit '"$bin" cluster down --data-dir "$work/c" >/dev/null 2>&1'
printf 'cookie-for-the-benchmark\n' > "$work/cookie"
chmod 600 "$work/cookie"
cat > "$work/node.json" <<JSON
{"cluster": {"heartbeat_ms": 200, "unhealthy_after": 3, "split_brain": {"stable_after_ms": 600},
             "replication": {"snapshot_interval_ms": ${SNAPSHOT_MS:-60000}}}}
JSON
"$bin" backup keygen --out "$work/key" > /dev/null
flags=(--cookie-file "$work/cookie" --certs-dir "$work/certs")
rss() { local t=0; for p in $(awk '{print $2}' "$work/c/cluster.pids"); do t=$((t + $(awk '/VmRSS/ {print $2}' "/proc/$p/status"))); done; echo "$t"; }
declare -A p99s
summary=()
for n in $sizes; do
  rm -rf "$work/c"
  base=$(( 20000 + RANDOM % 9000 ))
  "$bin" cluster up --nodes 3 --base-port "$base" --data-dir "$work/c" --config "$work/node.json" "${flags[@]}" \
    --detach > /dev/null
  port1=$((base + 1)); cport=$base
  echo "== $n handles"
  "$seed" "$work/seed.bak" "$work/key" "$n" > /dev/null
  sleep 1
  before=$(rss)
  restore=$("$bin" backup restore "$work/seed.bak" --key-file "$work/key" --node "127.0.0.1:$cport" "${flags[@]}" --json 2>/dev/null)
  rm -f "$work/seed.bak"
  echo "restored: $(python3 -c 'import json,sys; d=json.load(sys.stdin); print("%d records in %.1f s" % (d["restored"], d["seconds"]))' <<<"$restore")"
  sleep 2 # the backups' copies land
  after=$(rss)
  per=$(( (after - before) * 1024 / n ))
  echo "memory: RSS of the 3 nodes $before kB → $after kB: $per bytes per handle with its replica"
  cat > "$work/get.lua" <<LUA
$(wrk_mcp_headers session_get)
request = function()
  local body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"session_get","arguments":{"handle":"seed'
    .. math.random(0, $n - 1) .. '","key":"k"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}'
  return wrk.format(nil, "/mcp", nil, body)
end
LUA
  out=$(wrk -t1 -c4 -d"${secs}s" --latency -s "$work/get.lua" "http://127.0.0.1:$port1/mcp")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  errors=$(awk '/Non-2xx/ {print $5}' <<<"$out")
  echo "session_get (wrk -t1 -c4 -d${secs}s, random handles): $rps req/s, p50 $p50, p99 $p99, non-2xx ${errors:-0}"
  p99s[$n]=$p99
  # Restart n2 with its own command line; time to its ready line.
  pid=$(awk '$1=="n2" {print $2}' "$work/c/cluster.pids")
  mapfile -d '' cmd < "/proc/$pid/cmdline"
  kill -TERM "$pid"
  for _ in $(seq 1 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  log="$work/n2.restart.log"
  : > "$log"
  started=$(date +%s%N)
  profiler=()
  [ "${PROFILE:-0}" = 1 ] && profiler=(perf record -q -F 200 --call-graph dwarf,8192 -o "$work/perf.n2.data" --)
  setsid "${profiler[@]}" "${cmd[@]}" >> "$log" 2>&1 &
  newpid=$!
  pids+=("$newpid")
  wait_ready "$log" > /dev/null
  took=$(( ($(date +%s%N) - started) / 1000000 ))
  read_from_disk=$(wait_for "$log" '(read [0-9]+ record\(s\) from the snapshot and [0-9]+ from the WAL)' || true)
  took_read=$(( ($(date +%s%N) - started) / 1000000 ))
  loaded=$(wait_for "$log" '(restored [0-9]+ record\(s\) from disk)' || true)
  took_loaded=$(( ($(date +%s%N) - started) / 1000000 ))
  echo "restart of n2 (SIGTERM, start again): ready line after $took ms, ${read_from_disk:-no read line} after $took_read ms, ${loaded:-no load line} after $took_loaded ms"
  summary+=("$n handles: $per bytes/handle with replica; session_get p50 $p50 p99 $p99 ($rps req/s); n2 restart: ready $took ms, records loaded $took_loaded ms")
  if [ "${PROFILE:-0}" = 1 ]; then
    kill -TERM "$(pgrep -P "$newpid" | head -1)" 2>/dev/null || true # the node, under perf
    wait "$newpid" 2>/dev/null || true
    echo "where n2's restart went (share of samples, innermost phase):"
    perf script -i "$work/perf.n2.data" 2> /dev/null | python3 bench/perf_phases.py
    rm -f "$work/perf.n2.data"
  fi
  kill -TERM "$newpid" 2>/dev/null || true
  "$bin" cluster down --data-dir "$work/c" > /dev/null 2>&1 || true
  wait "$newpid" 2>/dev/null || true
done
echo "== summary"
printf '%s\n' "${summary[@]}"
set -- $sizes
first=$1
last=${!#}
to_ms() { python3 -c 'import re,sys; m=re.match(r"([0-9.]+)(us|ms|s)", sys.argv[1]); v=float(m.group(1)); print(v/1000 if m.group(2)=="us" else v*1000 if m.group(2)=="s" else v)' "$1"; }
python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print('session_get p99 at %s / at %s handles: %.2f (goal <= 1.2)' % (sys.argv[4], sys.argv[3], b/a))" \
  "$(to_ms "${p99s[$first]}")" "$(to_ms "${p99s[$last]}")" "$first" "$last"
