# The preamble the bench/ scripts share; sourced right after `set -euo pipefail`
# and `cd` to the repository root:
#   $work        a fresh temporary directory, removed at exit
#   pids+=($!)   background processes to stop at exit
#   at_exit CMD  a command to run at exit, before the processes are stopped
#   wait_for FILE REGEX     (bounded) prints group 1 of the first line matching REGEX
#   wait_ready LOG          (bounded) prints a node's whole ready line
#   ready_port LINE KEY     the port of KEY (mcp, observability) in a ready line
#   wait_port PORT          (bounded) until 127.0.0.1:PORT accepts a connection
#   call PORT TOOL ARGS     one stateless (2026-07-28) tools/call through curl
#   open_handle PORT        session_open through call: prints the handle
#   open_session PORT       a legacy session (initialize + initialized): prints its Mcp-Session-Id
#   wrk_mcp_headers TOOL    the Lua lines that make wrk post tools/call of TOOL
#   wrk_session_set FILE [CONSISTENCY]  a wrk script: session_set of key k on the handles in FILE
#   start_limit_probe       builds (once) and starts ../shared/bench/limit-probe in mode B;
#                           prints its port, or nothing (and why, on stderr) when its source is missing
bench_name=$(basename "$0" .sh)
work=$(mktemp -d)
pids=()
exit_commands=()
at_exit() { exit_commands+=("$*"); }
cleanup() {
  for c in "${exit_commands[@]}"; do eval "$c" || true; done
  if [ -f "$work/limit_probe.pid" ]; then kill "$(cat "$work/limit_probe.pid")" 2>/dev/null || true; fi
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

wait_for() {
  local file=$1 pattern=$2
  for _ in $(seq 1 200); do
    if grep -qE "$pattern" "$file" 2>/dev/null; then
      grep -oE "$pattern" "$file" | head -1 | sed -E "s#$pattern#\1#"
      return 0
    fi
    sleep 0.1
  done
  echo "$bench_name: timed out waiting for /$pattern/ in $file:" >&2
  cat "$file" >&2
  return 1
}

# The node's one ready line (text log): "<ts> info    <node> /: node NAME ready
# cluster=HOST:PORT|off mcp=URL|off|unbound observability=URL|off|unbound".
wait_ready() {
  wait_for "$1" '^([^ ]+ info +([^ ]+ )?/: node [^ ]+ ready cluster=[^ ]+ mcp=[^ ]+ observability=[^ ]+)$'
}
ready_port() { sed -nE "s#.* $2=http://[^ ]*:([0-9]+)(/[^ ]*)?( .*)?\$#\1#p" <<<"$1"; }

wait_port() {
  for _ in $(seq 1 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "$bench_name: nothing answers on 127.0.0.1:$1" >&2
  return 1
}

call() { # PORT TOOL ARGS
  curl -s "http://127.0.0.1:$1/mcp" -H 'Content-Type: application/json' \
    -H 'Accept: application/json, text/event-stream' -H 'MCP-Protocol-Version: 2026-07-28' \
    -H 'Mcp-Method: tools/call' -H "Mcp-Name: $2" \
    -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"$2\",\"arguments\":$3,\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\",\"io.modelcontextprotocol/clientCapabilities\":{}}}}"
}

wrk_mcp_headers() { # TOOL
  cat <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = "2026-07-28"
wrk.headers["Mcp-Method"] = "tools/call"
wrk.headers["Mcp-Name"] = "$1"
LUA
}

open_handle() { # PORT: a new state handle's id (empty if none came back)
  call "$1" session_open '{}' | grep -o '"handle":"[0-9a-f]*"' | cut -d'"' -f4
}

# A legacy session: initialize, take Mcp-Session-Id, send initialized.
open_session() { # PORT
  local port=$1 sid
  sid=$(curl -s -D - -o /dev/null "http://127.0.0.1:$port/mcp" \
    -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
    -d '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"wrk","version":"1"}}}' \
    | tr -d '\r' | awk -F': ' 'tolower($1)=="mcp-session-id" {print $2}')
  [ -n "$sid" ] || { echo "$bench_name: no session from port $port" >&2; return 1; }
  curl -s -o /dev/null "http://127.0.0.1:$port/mcp" -H 'Content-Type: application/json' \
    -H 'Accept: application/json, text/event-stream' -H "Mcp-Session-Id: $sid" -H 'MCP-Protocol-Version: 2025-11-25' \
    -d '{"jsonrpc":"2.0","method":"notifications/initialized"}'
  echo "$sid"
}

wrk_session_set() { # HANDLES_FILE [CONSISTENCY]
  local consistency=""
  [ -n "${2:-}" ] && consistency=",\"consistency\":\"$2\""
  cat <<LUA
local handles = {}
for line in io.lines("$1") do handles[#handles + 1] = line end
local i = 0
$(wrk_mcp_headers session_set)
request = function()
  i = i + 1
  local h = handles[(i % #handles) + 1]
  local body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"session_set","arguments":{"handle":"'
    .. h .. '","key":"k","value":"' .. i .. '"$consistency},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}'
  return wrk.format(nil, "/mcp", nil, body)
end
LUA
}

# The machine's HTTP ceiling for an MCP-shaped request: a bare Beast server that parses the
# body with nlohmann/json and dumps a response (../shared/bench/limit-probe, mode B). The MCP
# throughput goals are ratios to it, measured in the same run. LIMIT_PROBE_DIR overrides
# where its source is; the binary is cached in build/bench-cache by the source's hash.
start_limit_probe() { # runs in $(…): the probe's pid goes to a file the cleanup reads
  local dir=${LIMIT_PROBE_DIR:-../shared/bench/limit-probe}
  if [ ! -f "$dir/server.cpp" ]; then
    echo "$bench_name: no limit probe at $dir (set LIMIT_PROBE_DIR): ratios to it are not printed" >&2
    return 0
  fi
  local cache=build/bench-cache sum bin port
  sum=$(sha256sum "$dir/server.cpp" | cut -c1-16)
  bin=$cache/limit_probe-$sum
  if [ ! -x "$bin" ]; then
    mkdir -p "$cache"
    if ! g++ -O2 -std=c++17 "$dir/server.cpp" -o "$bin.tmp" -lcaf_io -lcaf_core -pthread >&2; then
      echo "$bench_name: the limit probe did not build" >&2
      return 1
    fi
    mv "$bin.tmp" "$bin"
  fi
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$bin" --port="$port" --mode=B > "$work/limit_probe.log" 2>&1 &
  echo $! > "$work/limit_probe.pid"
  wait_port "$port" >&2 || return 1
  echo "$port"
}
