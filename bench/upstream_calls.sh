#!/usr/bin/env bash
# The cost of serving a tool from an upstream MCP server, in one run on one
# node: a local tool (echo, inline), the same call relayed to an upstream
# stdio server (@modelcontextprotocol/server-everything from tests/interop,
# everything.echo), and that call through a routing rule (routed.echo ->
# everything.echo). Prints req/s and latency of each and the added latency;
# asserts nothing. Usage: bash bench/upstream_calls.sh [path/to/cafmcp]
# (SECONDS_PER_RUN=5 CONNECTIONS=4)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-build/bin/cafmcp}")
secs=${SECONDS_PER_RUN:-5}
conns=${CONNECTIONS:-4}
source bench/lib.sh
bash tests/interop/setup.sh >/dev/null
server=$(realpath tests/interop/node_modules/@modelcontextprotocol/server-everything/dist/index.js)
cat > "$work/node.json" <<JSON
{"name": "ub1", "upstreams": {"everything": {"command": ["$(command -v node)", "$server"]}},
 "routes": {"via-rule": {"name": "routed.*", "targets": [{"namespace": "everything"}]}}}
JSON
"$bin" node --config "$work/node.json" --http-port 0 --metrics-port 0 > "$work/node.log" 2>&1 &
pids+=($!)
ready=$(wait_ready "$work/node.log")
port=$(ready_port "$ready" mcp)
lua() { # TOOL ARGS_JSON
  cat <<LUA
$(wrk_mcp_headers "$1")
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, "/mcp", nil, '{"jsonrpc":"2.0","id":' .. n .. ',"method":"tools/call","params":{"name":"$1","arguments":$2,"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}')
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %.0f %d %d %d\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99), e.connect + e.read + e.write + e.status + e.timeout))
end
LUA
}
run() { # LABEL TOOL ARGS
  lua "$2" "$3" > "$work/$2.lua"
  # One call first: it must answer, not fail.
  if ! call "$port" "$2" "$3" | grep -q '"result"'; then
    echo "$bench_name: $2 does not answer" >&2
    exit 1
  fi
  read -r rps p50 p99 errors < <(wrk -t1 -c"$conns" -d"${secs}s" --latency -s "$work/$2.lua" "http://127.0.0.1:$port/mcp" \
    | sed -n 's/^RESULT //p')
  printf '%-34s %8s req/s   p50 %5s us   p99 %6s us   errors %s\n' "$1" "$rps" "$p50" "$p99" "$errors"
  eval "p50_$4=$p50"
}
echo "== tools/call over MCP 2026-07-28, $conns connections, ${secs} s each"
run "local tool (echo, inline)" echo '{"text":"hello"}' local
run "upstream (everything.echo)" everything.echo '{"message":"hello"}' upstream
run "routed (routed.echo -> upstream)" routed.echo '{"message":"hello"}' routed
echo "added p50 latency: upstream vs local $((p50_upstream - p50_local)) us; the rule $((p50_routed - p50_upstream)) us"
