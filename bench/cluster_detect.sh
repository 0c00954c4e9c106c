#!/usr/bin/env bash
# Failure detection and decision times of a 3-node local cluster: n3 is
# killed (kill -9) or frozen (SIGSTOP); n1's and n2's logs say when they
# found it unhealthy, when the split-brain resolver decided, and when it was
# marked down. Repeated RUNS times at 200 ms and 1 s heartbeats
# (stable_after = one heartbeat); prints p50 and max in ms.
# Usage: bash bench/cluster_detect.sh [path/to/cafmcp]   (RUNS=5)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-build/bin/cafmcp}")
runs=${RUNS:-5}
source bench/lib.sh
at_exit '"$bin" cluster down --data-dir "$work/c" >/dev/null 2>&1'
printf 'cookie-for-the-benchmark\n' > "$work/cookie"
chmod 600 "$work/cookie"

ms_of() { date -d "$1" +%s%3N; } # an ISO log timestamp in ms
# The first time (ms) a line matching $2 appears in the logs $3...
first_time() {
  local pattern=$1; shift
  local best=""
  for f in "$@"; do
    local ts
    ts=$(grep -m1 -E "$pattern" "$f" | cut -d' ' -f1 || true)
    [ -z "$ts" ] && continue
    ts=$(ms_of "$ts")
    if [ -z "$best" ] || [ "$ts" -lt "$best" ]; then best=$ts; fi
  done
  echo "$best"
}
stats() { # p50 and max of the numbers on stdin
  sort -n | awk '{a[NR]=$1} END {if (NR==0) {print "-\t-"; exit} printf "%d\t%d\n", a[int((NR+1)/2)], a[NR]}'
}

printf '%-10s %-6s %-22s %8s %8s\n' heartbeat fault measure p50_ms max_ms
for hb in 200 1000; do
  cat > "$work/node.json" <<JSON
{"cluster": {"heartbeat_ms": $hb, "unhealthy_after": 3, "split_brain": {"stable_after_ms": $hb}},
 "http": {"enabled": false}}
JSON
  for fault in kill stop; do
    : > "$work/unhealthy"; : > "$work/decided"; : > "$work/down"
    for _ in $(seq 1 "$runs"); do
      base=$(( 20000 + RANDOM % 9000 ))
      "$bin" cluster up --nodes 3 --base-port "$base" --data-dir "$work/c" --config "$work/node.json" \
        --cookie-file "$work/cookie" --detach > /dev/null
      pid=$(awk '$1=="n3"{print $2}' "$work/c/cluster.pids")
      sleep 1
      t0=$(date +%s%3N)
      if [ "$fault" = kill ]; then kill -9 "$pid"; else kill -STOP "$pid"; fi
      logs=("$work/c/n1.log" "$work/c/n2.log")
      for _ in $(seq 1 300); do
        grep -qE "member n3: up → down" "${logs[@]}" && break
        sleep 0.05
      done
      u=$(first_time "member n3: (healthy|degraded) → unhealthy" "${logs[@]}")
      d=$(first_time "split brain resolved" "${logs[@]}")
      w=$(first_time "member n3: up → down" "${logs[@]}")
      [ -n "$u" ] && echo $(( u - t0 )) >> "$work/unhealthy"
      [ -n "$d" ] && echo $(( d - t0 )) >> "$work/decided"
      [ -n "$w" ] && echo $(( w - t0 )) >> "$work/down"
      kill -CONT "$pid" 2>/dev/null || true
      "$bin" cluster down --data-dir "$work/c" > /dev/null
      rm -rf "$work/c"
    done
    for m in unhealthy decided down; do
      read -r p50 max < <(stats < "$work/$m")
      printf '%-10s %-6s %-22s %8s %8s\n' "${hb}ms" "$fault" "to $m" "$p50" "$max"
    done
  done
done
