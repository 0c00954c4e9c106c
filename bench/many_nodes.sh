#!/usr/bin/env bash
# Many real nodes on this machine (`cafmcp cluster up --nodes N`, 200 ms
# heartbeats, mutual TLS, no MCP HTTP), for N in COUNTS (default "4 8 16"):
#  1. the time `cluster up` takes until every node sees all N up;
#  2. idle CPU per node (utime + stime over SAMPLE seconds, default 5);
#  3. bytes sent per second per node on its cluster connections (ss: the
#     sockets' bytes_sent over the same seconds): heartbeats and gossip;
#  4. at the largest N, kill -9 of three nodes: the time from the kill to the
#     first survivor's log saying each is down (and whether the split-brain
#     resolver kept the majority side up).
# Prints its figures; asserts nothing. Usage: bash bench/many_nodes.sh [build/bin/cafmcp]
# (COUNTS="4 8 16" SAMPLE=5)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-build/bin/cafmcp}")
counts=${COUNTS:-4 8 16}
sample=${SAMPLE:-5}
source bench/lib.sh
at_exit '"$bin" cluster down --data-dir "$work/c" >/dev/null 2>&1'
printf 'cookie-for-the-benchmark\n' > "$work/cookie"
chmod 600 "$work/cookie"
cat > "$work/node.json" <<'JSON'
{"cluster": {"heartbeat_ms": 200, "unhealthy_after": 3, "split_brain": {"stable_after_ms": 600}},
 "http": {"enabled": false}}
JSON
ticks=$(getconf CLK_TCK)
cpu_of() { awk '{print $14 + $15}' "/proc/$1/stat"; } # utime + stime, in ticks
sent_of() { # bytes_sent summed over the TCP sockets of PID
  ss -tinpH 2>/dev/null | awk -v pid="pid=$1," '
    /users:/ { mine = index($0, pid) > 0; next }
    mine { if (match($0, /bytes_sent:[0-9]+/)) total += substr($0, RSTART + 11, RLENGTH - 11) }
    END { print total + 0 }'
}
ms_of() { date -d "$1" +%s%3N; }
largest=$(echo "$counts" | tr ' ' '\n' | sort -n | tail -1)
summary=()
for n in $counts; do
  rm -rf "$work/c"
  base=$(( 20000 + RANDOM % 9000 ))
  t0=$(date +%s%3N)
  "$bin" cluster up --nodes "$n" --base-port "$base" --data-dir "$work/c" --config "$work/node.json" \
    --cookie-file "$work/cookie" --certs-dir "$work/certs" --detach > /dev/null
  up_ms=$(( $(date +%s%3N) - t0 ))
  mapfile -t pids < <(awk '{print $2}' "$work/c/cluster.pids")
  sleep 2 # settled: joins and catch-up are over
  declare -A cpu0 sent0
  for p in "${pids[@]}"; do cpu0[$p]=$(cpu_of "$p"); sent0[$p]=$(sent_of "$p"); done
  sleep "$sample"
  cpu_total=0; sent_total=0
  for p in "${pids[@]}"; do
    cpu_total=$(( cpu_total + $(cpu_of "$p") - ${cpu0[$p]} ))
    sent_total=$(( sent_total + $(sent_of "$p") - ${sent0[$p]} ))
  done
  cpu_pct=$(python3 -c "print('%.2f' % (100.0 * $cpu_total / $ticks / $sample / $n))")
  bps=$(( sent_total / sample / n ))
  line="$n nodes: all up in $up_ms ms (cluster up, certificates made on the first run); idle CPU $cpu_pct % per node; $bps bytes/s sent per node"
  echo "$line"
  summary+=("$line")
  if [ "$n" = "$largest" ]; then
    victims=(n2 n3 n4)
    t0=$(date +%s%3N)
    for v in "${victims[@]}"; do kill -9 "$(awk -v v="$v" '$1==v {print $2}' "$work/c/cluster.pids")"; done
    survivors=()
    for f in "$work"/c/n*.log; do
      case "$(basename "$f" .log)" in n2|n3|n4) ;; *) survivors+=("$f") ;; esac
    done
    for _ in $(seq 1 100); do
      done_all=1
      for v in "${victims[@]}"; do grep -qE "member $v: up → down" "${survivors[@]}" || done_all=0; done
      [ "$done_all" = 1 ] && break
      sleep 0.05
    done
    for v in "${victims[@]}"; do
      ts=$(grep -hE "member $v: up → down" "${survivors[@]}" | cut -d' ' -f1 | sort | head -1)
      if [ -n "$ts" ]; then d=$(( $(ms_of "$ts") - t0 )); else d="not within 5 s"; fi
      line="kill -9 of n2, n3, n4 ($n nodes): $v down after $d ms"
      echo "$line"
      summary+=("$line")
    done
    sleep 1
    up=$("$bin" status --node "127.0.0.1:$base" --cookie-file "$work/cookie" --certs-dir "$work/certs" --json |
      python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin) if r["state"] == "up" and r["side"] not in ("fenced", "unreachable")))')
    summary+=("after the kill, n1 sees $up of $((n - 3)) survivors up and serving (keep_majority: the majority side stays up)")
  fi
  "$bin" cluster down --data-dir "$work/c" > /dev/null 2>&1 || true
done
echo "== summary"
printf '%s\n' "${summary[@]}"
