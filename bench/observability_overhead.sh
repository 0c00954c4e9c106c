#!/usr/bin/env bash
# The cost of request metrics, tracing (and of a scraper) on tools/call: one
# node with observability.request_metrics on, one with it off, two with
# metrics and tracing on (sample ratio 1 and the default 0.1, exporting to a
# local OTLP/HTTP sink), the same wrk load (echo, MCP 2026-07-28, -t1 -c4)
# alternating between them ROUNDS times, plus a run with /metrics scraped
# every 100 ms. Prints req/s, p50/p99 latency and the node's CPU time per
# request for each, then the spans exported and dropped; asserts nothing.
# Usage: bash bench/observability_overhead.sh [path/to/cafmcp]   (DURATION=8 ROUNDS=3)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-build/bin/cafmcp}")
duration=${DURATION:-8}
rounds=${ROUNDS:-3}
command -v wrk >/dev/null || { echo "observability_overhead: wrk is needed (bash deploy/install-deps.sh)" >&2; exit 1; }
source bench/lib.sh

# An OTLP/HTTP sink that accepts and discards (the collector is not what is
# measured): bench/otlp_sink, built beside the binary.
sink_bin="$(dirname "$bin")/otlp_sink"
[ -x "$sink_bin" ] || { echo "observability_overhead: $sink_bin is missing (build the otlp_sink target)" >&2; exit 1; }
"$sink_bin" > "$work/sink.port" 2> "$work/sink.log" &
pids+=($!)
sink_port=$(wait_for "$work/sink.port" '^([0-9]+)$')
wait_port "$sink_port"
otlp="http://127.0.0.1:$sink_port/v1/traces"

start() { # NAME REQUEST_METRICS [TRACE_RATIO]
  if [ -n "${3:-}" ]; then
    echo "{\"observability\": {\"request_metrics\": $2, \"tracing\": {\"enabled\": true, \"endpoint\": \"$otlp\", \"sample_ratio\": $3}}}" > "$work/$1.json"
  else
    echo "{\"observability\": {\"request_metrics\": $2}}" > "$work/$1.json"
  fi
  "$bin" node --name "$1" --http-port 0 --metrics-port 0 --config "$work/$1.json" 2> "$work/$1.log" &
  pids+=($!)
  echo $! > "$work/$1.pid"
  local ready
  ready=$(wait_ready "$work/$1.log")
  ready_port "$ready" mcp > "$work/$1.port"
  ready_port "$ready" observability > "$work/$1.web"
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$(cat "$work/$1.pid")/stat"; }

start on true
start off false
start traced_all true 1.0
start traced_default true 0.1
hz=$(getconf CLK_TCK)
printf '%-22s %10s %10s %10s %14s\n' run req/s p50 p99 cpu_us/request
for r in $(seq 1 "$rounds"); do
  for name in on off traced_all traced_default scraped; do
    node=$name; [ "$name" = scraped ] && node=on
    scraper=""
    if [ "$name" = scraped ]; then
      ( end=$((SECONDS + duration + 1)); while [ $SECONDS -lt $end ]; do
          curl -s -o /dev/null "http://127.0.0.1:$(cat "$work/on.web")/metrics"; sleep 0.1; done ) &
      scraper=$!
    fi
    before=$(cpu_ticks "$node")
    out=$(MCP_MODE=modern wrk -t1 -c4 -d"${duration}s" --latency -s bench/mcp_echo.lua "http://127.0.0.1:$(cat "$work/$node.port")/mcp")
    after=$(cpu_ticks "$node")
    [ -n "$scraper" ] && wait "$scraper" 2>/dev/null || true
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    reqs=$(echo "$out" | awk '/ requests in / {print $1; exit}')
    p50=$(echo "$out" | awk '$1=="50%" {print $2}')
    p99=$(echo "$out" | awk '$1=="99%" {print $2}')
    cpu=$(awk -v t=$((after - before)) -v hz="$hz" -v n="$reqs" 'BEGIN { printf "%.1f", (n > 0 ? t / hz * 1e6 / n : 0) }')
    printf '%-22s %10s %10s %10s %14s\n' "round $r $name" "$rps" "$p50" "$p99" "$cpu"
  done
done
for name in traced_all traced_default; do
  m=$(curl -s "http://127.0.0.1:$(cat "$work/$name.web")/metrics")
  exported=$(echo "$m" | awk '/^cafmcp_trace_spans_exported_total/ {print $2}')
  full=$(echo "$m" | awk '/^cafmcp_trace_spans_dropped_total\{reason="queue_full"\}/ {print $2}')
  failed=$(echo "$m" | awk '/^cafmcp_trace_spans_dropped_total\{reason="export_failed"\}/ {print $2}')
  echo "$name: spans exported ${exported:-0}, dropped (queue full) ${full:-0}, dropped (export failed) ${failed:-0}"
done
