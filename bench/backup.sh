#!/usr/bin/env bash
# Backup figures of a 3-node local cluster (200 ms heartbeats, factor 2, mutual
# TLS between the nodes), with a key file (no scrypt):
#  1. seeds RECORDS handles: wrk posting session_open (MCP 2026-07-28) to n1
#     until `cafmcp status` counts that many primaries, for at most 60 s of wrk
#     (then it goes on with what it has, and says how many);
#  2. `backup create`: records/s and MB/s (before compression and of the file);
#  3. `backup verify` and `backup test-restore` (wall time, process start included),
#     then `backup restore` into a new 3-node cluster (fresh data dir): records/s, MB/s;
#  4. what a backup costs concurrent writes: wrk (-t1 -c8, SECONDS_PER_RUN) posting
#     session_set (consistency majority) over 64 handles, once alone and once while
#     backups run back to back (each to a new file): p50, p99, writes/s and ratios.
# Prints its figures; asserts nothing. Usage: bash bench/backup.sh [path/to/cafmcp]
# (RECORDS=100000 SECONDS_PER_RUN=10; needs wrk, curl, python3)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-build/bin/cafmcp}")
records=${RECORDS:-100000}
secs=${SECONDS_PER_RUN:-10}
seed_budget=60 # seconds of session_open at most
command -v wrk >/dev/null || { echo "backup: wrk is needed (bash deploy/install-deps.sh)" >&2; exit 1; }
# shellcheck source-path=SCRIPTDIR/.. disable=SC1091 # followed with shellcheck -x
source bench/lib.sh
# shellcheck disable=SC2016 # expanded by lib.sh's cleanup, at exit
at_exit '"$bin" cluster down --data-dir "$work/c" >/dev/null 2>&1'
# shellcheck disable=SC2154 # $work comes from bench/lib.sh
printf 'cookie-for-the-benchmark\n' > "$work/cookie"
chmod 600 "$work/cookie"
cat > "$work/node.json" <<JSON
{"cluster": {"heartbeat_ms": 200, "unhealthy_after": 3, "split_brain": {"stable_after_ms": 600}}}
JSON

up() {
  base=$(( 20000 + RANDOM % 9000 ))
  "$bin" cluster up --nodes 3 --base-port "$base" --data-dir "$work/c" --config "$work/node.json" \
    --cookie-file "$work/cookie" --certs-dir "$work/certs" --detach > /dev/null
  port1=$((base + 1)); cport=$base
  conn=(--node "127.0.0.1:$cport" --cookie-file "$work/cookie" --certs-dir "$work/certs")
}
down() { "$bin" cluster down --data-dir "$work/c" > /dev/null 2>&1 || true; }
count_records() { # the primaries of every member, as n1 sees them
  "$bin" status "${conn[@]}" --json |
    python3 -c 'import json,sys; print(sum((r.get("replication") or {}).get("primaries", 0) for r in json.load(sys.stdin)))'
}
now() { date +%s.%N; }
since() { python3 -c "import sys, time; print('%.2f' % (time.time() - float(sys.argv[1])))" "$1"; }
field() { # JSON-FILE PYTHON-EXPRESSION-OF-j
  python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"
}
rate() { # COUNT SECONDS [DIVISOR]: COUNT/SECONDS/DIVISOR (one decimal with a divisor, else whole)
  python3 -c "import sys; n, s, d = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]); print(('%.1f' if d != 1 else '%.0f') % (n / s / d) if s > 0 else '-')" "$1" "$2" "${3:-1}"
}
to_ms() { # a wrk duration (850.00us, 2.31ms, 1.02s) in ms
  awk -v d="$1" 'BEGIN { v = d + 0; if (d ~ /us$/) v /= 1000; else if (d ~ /ms$/) v += 0; else if (d ~ /m$/) v *= 60000; else if (d ~ /s$/) v *= 1000; printf "%.2f", v }'
}
run_or_show() { # LABEL ERR-FILE COMMAND...: COMMAND's stdout; on failure its stderr and exit
  local label=$1 err=$2; shift 2
  if ! "$@" 2> "$err"; then
    echo "backup: $label failed:" >&2
    cat "$err" >&2
    exit 1
  fi
}

echo "== 3 nodes (200 ms heartbeats, factor 2, TLS): seeding $records records (session_open through wrk, at most ${seed_budget}s)"
up
sleep 1
: > "$work/handles"
for _ in $(seq 1 64); do open_handle "$port1" >> "$work/handles"; done
[ -s "$work/handles" ] || { echo "backup: no handle opened on port $port1" >&2; exit 1; }
cat > "$work/open.lua" <<LUA
$(wrk_mcp_headers session_open)
wrk.body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"session_open","arguments":{},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}'
LUA
seeded=$(count_records)
spent=0
chunk=5
t0=$(now)
for _ in $(seq 1 20); do
  [ "$seeded" -ge "$records" ] && break
  [ "$spent" -ge "$seed_budget" ] && break
  [ $((spent + chunk)) -gt "$seed_budget" ] && chunk=$((seed_budget - spent))
  wrk -t1 -c16 -d"${chunk}s" -s "$work/open.lua" "http://127.0.0.1:$port1/mcp" > /dev/null
  spent=$((spent + chunk))
  sleep 1 # replication settles
  before=$seeded
  seeded=$(count_records)
  # the next chunk: what is still needed at the rate seen, at least 1 s
  per_s=$(( (seeded - before) / chunk ))
  if [ "$per_s" -gt 0 ]; then chunk=$(( (records - seeded + per_s - 1) / per_s )); else chunk=5; fi
  [ "$chunk" -lt 1 ] && chunk=1
  echo "  $seeded records after ${spent}s of session_open (~$per_s/s)"
done
seed_secs=$(since "$t0")
if [ "$seeded" -lt "$records" ]; then
  echo "NOTE: only $seeded of $records records after ${spent}s of session_open; going on with these"
fi

echo "== backup create ($seeded records)"
"$bin" backup keygen --out "$work/key" > /dev/null
t0=$(now)
run_or_show "backup create" "$work/create.err" \
  "$bin" backup create --out "$work/full.bak" --key-file "$work/key" --json "${conn[@]}" > "$work/create.json"
create_wall=$(since "$t0")
c_records=$(field "$work/create.json" 'j["summary"]["records"]')
c_plain=$(field "$work/create.json" 'j["summary"]["plain_bytes"]')
c_file=$(field "$work/create.json" 'j["summary"]["file_bytes"]')
c_secs=$(field "$work/create.json" 'j["seconds"]')
c_members=$(field "$work/create.json" '", ".join("%s %d" % (m["member"], m["records"]) for m in j["members"])')
create_line="$c_records records in ${c_secs} s (${create_wall} s wall): $(rate "$c_records" "$c_secs") records/s, $(rate "$c_plain" "$c_secs" 1e6) MB/s before compression, $(rate "$c_file" "$c_secs" 1e6) MB/s of file; file $(rate "$c_file" 1 1e6) MB of $(rate "$c_plain" 1 1e6) MB ($c_members)"
echo "create:       $create_line"

t0=$(now)
run_or_show "backup verify" "$work/verify.err" \
  "$bin" backup verify "$work/full.bak" --key-file "$work/key" --json > "$work/verify.json"
v_secs=$(since "$t0")
verify_line="$(field "$work/verify.json" 'j["summary"]["records"]') records in ${v_secs} s: $(rate "$c_records" "$v_secs") records/s, $(rate "$c_plain" "$v_secs" 1e6) MB/s before compression, $(rate "$c_file" "$v_secs" 1e6) MB/s of file"
echo "verify:       $verify_line"

t0=$(now)
run_or_show "backup test-restore" "$work/test_restore.err" \
  "$bin" backup test-restore "$work/full.bak" --key-file "$work/key" --json > "$work/test_restore.json"
tr_secs=$(since "$t0")
tr_restore=$(field "$work/test_restore.json" 'j["restore_seconds"]')
test_restore_line="$(field "$work/test_restore.json" '"ok" if j["ok"] else "MISMATCH"'), $(field "$work/test_restore.json" 'j["restored"]') restored, $(field "$work/test_restore.json" 'j["read_back"]') read back; ${tr_secs} s in all (scratch node, restore ${tr_restore} s, read back)"
echo "test-restore: $test_restore_line"

echo "== concurrent writes: session_set (majority) over 64 handles, wrk -t1 -c8 -d${secs}s to n1, without and with backups"
wrk_session_set "$work/handles" majority > "$work/set.lua"
declare -A p50 p99 rps non2xx
writes() { # NAME
  local out
  out=$(wrk -t1 -c8 -d"${secs}s" --latency -s "$work/set.lua" "http://127.0.0.1:$port1")
  rps[$1]=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50[$1]=$(to_ms "$(echo "$out" | awk '$1=="50%" {print $2}')")
  p99[$1]=$(to_ms "$(echo "$out" | awk '$1=="99%" {print $2}')")
  non2xx[$1]=$(echo "$out" | awk '/Non-2xx/ {print $5}')
  non2xx[$1]=${non2xx[$1]:-0}
  printf '%-16s %10s writes/s   p50 %8s ms   p99 %8s ms   non-2xx %s\n' "$1" "${rps[$1]}" "${p50[$1]}" "${p99[$1]}" "${non2xx[$1]}"
}
writes "no backup"
# Backups back to back (each to a new file, removed once written), bounded,
# until the stop file appears; a failed one is counted and shown.
rm -f "$work/stop"
: > "$work/loop.log"
(
  for i in $(seq 1 200); do
    [ -e "$work/stop" ] && break
    if "$bin" backup create --out "$work/loop.$i.bak" --key-file "$work/key" --json "${conn[@]}" \
        > "$work/loop.$i.json" 2> "$work/loop.$i.err"; then
      echo "ok $(field "$work/loop.$i.json" 'j["seconds"]')" >> "$work/loop.log"
    else
      echo "failed $i: $(tail -1 "$work/loop.$i.err")" >> "$work/loop.log"
    fi
    rm -f "$work/loop.$i.bak"
  done
) &
loop=$!
pids+=("$loop")
sleep 0.5 # the first backup has started
writes "during backups"
touch "$work/stop"
wait "$loop" || true # lets the backup under way finish (each call to a member is bounded)
loop_ok=$(grep -c '^ok' "$work/loop.log" || true)
loop_failed=$(grep -c '^failed' "$work/loop.log" || true)
loop_secs=$(awk '/^ok/ {s += $2; n++} END {if (n) printf "%.2f", s / n; else print "-"}' "$work/loop.log")
echo "backups during the run: $loop_ok done (mean ${loop_secs} s each), $loop_failed failed"
grep '^failed' "$work/loop.log" | head -3 || true
ratio() { python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print('%.2f' % (a / b) if b > 0 else '-')" "$1" "$2"; }
p99_ratio=$(ratio "${p99[during backups]}" "${p99[no backup]}")
p50_ratio=$(ratio "${p50[during backups]}" "${p50[no backup]}")
rps_ratio=$(ratio "${rps[during backups]}" "${rps[no backup]}")
echo "during / without backups: p50 x$p50_ratio, p99 x$p99_ratio, writes/s x$rps_ratio"
down

echo "== backup restore into a new 3-node cluster (fresh data dir)"
rm -rf "$work/c"
up
sleep 1
run_or_show "backup restore" "$work/restore.err" \
  "$bin" backup restore "$work/full.bak" --key-file "$work/key" --json "${conn[@]}" > "$work/restore.json"
r_restored=$(field "$work/restore.json" 'j["restored"]')
r_secs=$(field "$work/restore.json" 'j["seconds"]')
sleep 1 # replication settles
r_count=$(count_records)
restore_line="$r_restored records in ${r_secs} s: $(rate "$r_restored" "$r_secs") records/s, $(rate "$c_plain" "$r_secs" 1e6) MB/s before compression, $(rate "$c_file" "$r_secs" 1e6) MB/s of file; the new cluster counts $r_count primaries"
echo "restore:      $restore_line"
down

echo
echo "== summary ($(date -u +%Y-%m-%d), $(nproc) cores)"
echo "seeded:                   $seeded records (asked $records) in ${seed_secs} s"
echo "backup create:            $create_line"
echo "backup verify:            $verify_line"
echo "backup test-restore:      $test_restore_line"
echo "backup restore:           $restore_line"
echo "writes without backup:    ${rps[no backup]} writes/s, p50 ${p50[no backup]} ms, p99 ${p99[no backup]} ms, non-2xx ${non2xx[no backup]}"
echo "writes during backups:    ${rps[during backups]} writes/s, p50 ${p50[during backups]} ms, p99 ${p99[during backups]} ms, non-2xx ${non2xx[during backups]} ($loop_ok backups done, $loop_failed failed, mean ${loop_secs} s)"
echo "during / without backups: p50 x$p50_ratio, p99 x$p99_ratio, writes/s x$rps_ratio"
