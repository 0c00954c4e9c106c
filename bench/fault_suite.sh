#!/usr/bin/env bash
# The Jepsen-style fault suite, longer than CI runs it: every nemesis of
# tests/system/cluster/fault_test.cpp (kill -9 of every node at once and a
# restart on the same data dirs, kill -9 and restart of one node at a time,
# SIGSTOP/SIGCONT, clock skew), partition_fault_test.cpp (iptables partitions
# in network namespaces: halves, one node isolated, a bridge, a ring) and
# disk_fault_test.cpp (a node's disk filling up) for DURATION seconds each, on
# clusters of each size in NODES, with the very test binaries CI runs (their
# doctest filters, and CAFMCP_FAULT_SECONDS / CAFMCP_FAULT_NODES, which the
# tests read). The partition and full-disk nemeses need root. Each test
# prints "FAULT-REPORT nemesis=… nodes=… operations=… acknowledged=… lost=…
# resurrected=… unavailable_ms=… converge_ms=… errors=… valid=0|1"; this script
# prints them as one table, and exits 1 if any run failed.
# Usage: bash bench/fault_suite.sh [build/bin]   (the folder of fault_tests and netns_tests)
# (DURATION=60 NODES="3 5" NEMESES="kill-all kill-one pause clock-skew
#  partition-halves partition-isolate partition-bridge partition-ring full-disk")
set -euo pipefail
cd "$(dirname "$0")/.."
bin_dir=$(realpath "${1:-build/bin}")
duration=${DURATION:-60}
node_counts=${NODES:-3 5}
nemeses=${NEMESES:-kill-all kill-one pause clock-skew partition-halves partition-isolate partition-bridge partition-ring full-disk}
source bench/lib.sh

# doctest filters (no commas: doctest splits filters there).
declare -A filter=(
  [kill-all]='kill -9 of every node at once*'
  [kill-one]='kill -9 of one node and a restart*'
  [pause]='SIGSTOP and SIGCONT of one node*'
  [clock-skew]='nodes whose clocks are skewed*'
  [partition-halves]='a partition into halves*'
  [partition-isolate]='a partition that isolates one node*'
  [partition-bridge]='a bridge node that reaches two halves*'
  [partition-ring]='a ring partition*'
  [full-disk]='a node whose disk fills up again and again*'
)
# The binary each nemesis is in.
declare -A binary=(
  [kill-all]=fault_tests [kill-one]=fault_tests [pause]=fault_tests [clock-skew]=fault_tests
  [partition-halves]=netns_tests [partition-isolate]=netns_tests [partition-bridge]=netns_tests
  [partition-ring]=netns_tests [full-disk]=netns_tests
)

group=0
# The test binary runs in its own process group (its nodes with it), stopped by that id at exit.
at_exit '[ "$group" -gt 0 ] && kill -KILL -- "-$group" 2>/dev/null'

failed=0
rows=()
for n in $node_counts; do
  for nemesis in $nemeses; do
    [ -n "${filter[$nemesis]:-}" ] || { echo "fault_suite: no nemesis $nemesis" >&2; exit 2; }
    log="$work/$nemesis-$n.log"
    echo "== $nemesis, $n nodes, ${duration} s" >&2
    CAFMCP_FAULT_SECONDS=$duration CAFMCP_FAULT_NODES=$n \
      setsid "$bin_dir/${binary[$nemesis]}" --test-case="${filter[$nemesis]}" > "$log" 2>&1 &
    group=$!
    limit=$(( SECONDS + 3 * duration + 300 )) # generous, but bounded
    while kill -0 "$group" 2>/dev/null && (( SECONDS < limit )); do sleep 1; done
    if kill -0 "$group" 2>/dev/null; then
      echo "fault_suite: $nemesis on $n nodes still running after $(( 3 * duration + 300 )) s: stopped" >&2
      kill -KILL -- "-$group" 2>/dev/null || true
    fi
    code=0
    wait "$group" || code=$?
    group=0
    line=$(grep -m1 '^FAULT-REPORT ' "$log" || true)
    if [ "$code" -ne 0 ] || [ -z "$line" ]; then
      failed=1
      echo "fault_suite: $nemesis on $n nodes failed (exit $code); the end of its output:" >&2
      tail -40 "$log" >&2
    fi
    if [ -z "$line" ]; then
      line="FAULT-REPORT nemesis=$nemesis nodes=$n operations=- acknowledged=- lost=- resurrected=- unavailable_ms=- converge_ms=- errors=- valid=0"
    fi
    rows+=("$line")
  done
done

printf '%-11s %5s %10s %12s %5s %11s %15s %11s %7s %s\n' NEMESIS NODES OPERATIONS ACKNOWLEDGED LOST RESURRECTED \
  UNAVAILABLE_MS CONVERGE_MS ERRORS RESULT
for line in "${rows[@]}"; do
  field() { sed -nE "s/.* $1=([^ ]+).*/\1/p" <<<"$line"; }
  result=PASS
  [ "$(field valid)" = 1 ] || result=FAIL
  printf '%-11s %5s %10s %12s %5s %11s %15s %11s %7s %s\n' "$(field nemesis)" "$(field nodes)" \
    "$(field operations)" "$(field acknowledged)" "$(field lost)" "$(field resurrected)" \
    "$(field unavailable_ms)" "$(field converge_ms)" "$(field errors)" "$result"
done
exit "$failed"
