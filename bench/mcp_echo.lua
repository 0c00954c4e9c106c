-- wrk script: tools/call echo, one request per call with a fresh id.
-- Environment: MCP_MODE=modern (stateless 2026-07-28 with its headers) or
-- legacy (MCP_SESSION=<Mcp-Session-Id>). Prints one RESULT line at the end.
local mode = os.getenv("MCP_MODE") or "modern"
local counter = 0
local prefix, suffix

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
if mode == "modern" then
  wrk.headers["MCP-Protocol-Version"] = "2026-07-28"
  wrk.headers["Mcp-Method"] = "tools/call"
  wrk.headers["Mcp-Name"] = "echo"
  prefix = '{"jsonrpc":"2.0","id":'
  suffix = ',"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"},'
    .. '"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",'
    .. '"io.modelcontextprotocol/clientCapabilities":{},'
    .. '"io.modelcontextprotocol/clientInfo":{"name":"wrk","version":"1"}}}}'
else
  wrk.headers["Mcp-Session-Id"] = os.getenv("MCP_SESSION")
  wrk.headers["MCP-Protocol-Version"] = "2025-11-25"
  prefix = '{"jsonrpc":"2.0","id":'
  suffix = ',"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}}'
end

function request()
  counter = counter + 1
  return wrk.format(nil, nil, nil, prefix .. counter .. suffix)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT rps=%.0f p50_us=%d p95_us=%d p99_us=%d requests=%d errors=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50), latency:percentile(95),
    latency:percentile(99), summary.requests, e.connect + e.read + e.write + e.status + e.timeout))
end
