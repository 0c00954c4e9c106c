// Tenants and routing rules on a real node with real upstream servers
// (three copies of @modelcontextprotocol/server-everything over stdio):
// each tenant's catalog view and rate limit, weighted balancing over
// 10,000 calls, the fallback chain when the targets are down, and handles
// one tenant cannot read with another's id.
//   node routing.mjs --binary path/to/cafmcp
// Prints one line per check and "N passed, M failed"; exits 1 on a failure.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";

import { check, finish, makeToken as makeTokenFor, metric, sleep, startNode } from "./checks.mjs";

const { values: opts } = parseArgs({ options: { binary: { type: "string" } } });
if (!opts.binary) {
  console.error("usage: node routing.mjs --binary PATH/TO/cafmcp");
  process.exit(2);
}

const makeToken = (subject, tenant) => makeTokenFor(opts.binary, subject, tenant);
const acme = makeToken("ann", "acme");
const globex = makeToken("gus", "globex");
const other = makeToken("olga", "initech"); // a tenant the config does not name
const anonymous = makeToken("nora", ""); // a token without a tenant
const umbrella = makeToken("una", "umbrella"); // sees every upstream's names

const require = createRequire(import.meta.url);
const pkgDir = dirname(require.resolve("@modelcontextprotocol/server-everything/package.json"));
const pkg = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
const server = [process.execPath, join(pkgDir, pkg.bin["mcp-server-everything"])];

const dir = mkdtempSync(join(tmpdir(), "cafmcp-routing-"));
const configPath = join(dir, "node.json");
writeFileSync(configPath, JSON.stringify({
  name: "rt1",
  // The killed upstreams come back 5 s later (±20 %): the fallback is checked well before.
  supervision: { restart_backoff: { initial_ms: 5000 } },
  mcp: { auth: { enabled: true, static_tokens: [acme.entry, globex.entry, other.entry, anonymous.entry, umbrella.entry] } },
  upstreams: { everything: { command: server }, mirror: { command: server }, backup: { command: server } },
  tenants: {
    acme: { tools: ["everything.*", "session_*"], deny_tools: ["everything.get-env"] },
    globex: { tools: ["add", "session_*"], rate: "9/0.001" },
    umbrella: { tools: ["everything.*", "mirror.*", "backup.*"] },
  },
  routes: {
    spread: {
      name: "everything.*",
      targets: [{ namespace: "everything", weight: 3 }, { namespace: "mirror", weight: 1 }],
      fallbacks: [{ namespace: "backup" }],
    },
  },
}));

const node = startNode(opts.binary, ["--config", configPath, "--http-port", "0", "--metrics-port", "0", "--log-level", "info"]);
const waitForLine = node.waitForLine;

// One stateless 2026-07-28 request with fetch (keep-alive), as a client of `token`.
let nextId = 1;
async function rpc(url, token, method, params, name) {
  const headers = {
    "Content-Type": "application/json", Accept: "application/json, text/event-stream",
    "MCP-Protocol-Version": "2026-07-28", "Mcp-Method": method, Authorization: `Bearer ${token}`,
  };
  if (name) headers["Mcp-Name"] = name;
  const meta = { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} };
  const res = await fetch(url, { method: "POST", headers, body: JSON.stringify({ jsonrpc: "2.0", id: nextId++, method, params: { ...params, _meta: meta } }) });
  return JSON.parse(await res.text());
}
const callTool = (url, token, name, args) => rpc(url, token, "tools/call", { name, arguments: args }, name);
const text = (r) => r?.result?.content?.[0]?.text;

try {
  const [, mcpUrl, obsUrl] = await waitForLine(/^\S+ info +\S+ \/: node rt1 ready cluster=\S+ mcp=(http:\/\/\S+) observability=(http:\/\/\S+)\n/m, "ready line");

  // -- tenants: each sees its own view -------------------------------------
  const names = async (token) => (await rpc(mcpUrl, token, "tools/list", {})).result?.tools?.map((t) => t.name) ?? [];
  const acmeTools = await names(acme.token);
  check("acme sees the upstream's tools it is allowed", acmeTools.includes("everything.echo") && acmeTools.includes("everything.get-sum"), JSON.stringify(acmeTools));
  check("acme does not see a denied tool", !acmeTools.includes("everything.get-env"));
  check("acme sees nothing outside its globs", !acmeTools.includes("add") && !acmeTools.includes("mirror.echo") && !acmeTools.includes("echo"));
  const globexTools = await names(globex.token);
  check("globex sees only its own tools", JSON.stringify(globexTools.sort()) === JSON.stringify(["add", "session_get", "session_open", "session_set"]), JSON.stringify(globexTools));
  const otherTools = await names(other.token);
  check("a tenant the config does not name sees the whole catalog", otherTools.includes("add") && otherTools.includes("mirror.echo"));
  const refused = await callTool(mcpUrl, globex.token, "everything.echo", { message: "x" });
  check("a tool outside a tenant's view is unknown to it", refused.error?.code === -32602 && refused.error?.message === "Unknown tool: everything.echo", JSON.stringify(refused));
  const denied = await callTool(mcpUrl, acme.token, "everything.get-env", {});
  check("a denied tool cannot be called either", denied.error?.code === -32602, JSON.stringify(denied));

  // -- handles: one tenant cannot read another's ---------------------------
  const opened = await callTool(mcpUrl, acme.token, "session_open", {});
  const handle = opened.result?.structuredContent?.handle;
  check("acme opens a handle", typeof handle === "string", JSON.stringify(opened));
  check("acme writes to it", text(await callTool(mcpUrl, acme.token, "session_set", { handle, key: "k", value: "secret" })) === "ok");
  check("acme reads it", text(await callTool(mcpUrl, acme.token, "session_get", { handle, key: "k" })) === "secret");
  const stolen = await callTool(mcpUrl, globex.token, "session_get", { handle, key: "k" });
  check("globex cannot read acme's handle with its id", stolen.result?.isError === true && /unknown or expired handle/.test(text(stolen)), JSON.stringify(stolen));
  const overwritten = await callTool(mcpUrl, globex.token, "session_set", { handle, key: "k", value: "mine" });
  check("globex cannot write to it", overwritten.result?.isError === true, JSON.stringify(overwritten));
  const bare = handle.split(".")[0];
  const guessed = await callTool(mcpUrl, globex.token, "session_get", { handle: bare, key: "k" });
  check("nor with the record's bare id", guessed.result?.isError === true, JSON.stringify(guessed));
  const noTenant = await callTool(mcpUrl, anonymous.token, "session_get", { handle: bare, key: "k" });
  check("a caller without a tenant cannot use the bare id either", noTenant.result?.isError === true, JSON.stringify(noTenant));
  const noTenantSealed = await callTool(mcpUrl, anonymous.token, "session_get", { handle, key: "k" });
  check("nor the sealed handle", noTenantSealed.result?.isError === true, JSON.stringify(noTenantSealed));
  const own = await callTool(mcpUrl, anonymous.token, "session_open", {});
  const ownHandle = own.result?.structuredContent?.handle;
  check("a caller without a tenant still gets plain handles", /^[0-9a-f]{32}$/.test(ownHandle ?? ""), JSON.stringify(own));
  check("acme's value is unchanged", text(await callTool(mcpUrl, acme.token, "session_get", { handle, key: "k" })) === "secret");

  // -- the same view over prompts and resources ------------------------------
  const promptNames = async (token) => (await rpc(mcpUrl, token, "prompts/list", {})).result?.prompts?.map((p) => p.name) ?? [];
  const acmePrompts = await promptNames(acme.token);
  check("acme lists the upstream's prompts its globs allow, and no others",
    acmePrompts.includes("everything.simple-prompt") && !acmePrompts.includes("greeting") && acmePrompts.every((n) => n.startsWith("everything.")),
    JSON.stringify(acmePrompts));
  check("globex lists no prompt: none is in its view", (await promptNames(globex.token)).length === 0);
  const acmeGot = await rpc(mcpUrl, acme.token, "prompts/get", { name: "everything.simple-prompt" }, "everything.simple-prompt");
  check("acme gets an upstream prompt in its view", acmeGot.result?.messages?.length === 1, JSON.stringify(acmeGot));
  const globexGot = await rpc(mcpUrl, globex.token, "prompts/get", { name: "everything.simple-prompt" }, "everything.simple-prompt");
  check("globex cannot get it: unknown to it", globexGot.error?.message === "Unknown prompt: everything.simple-prompt", JSON.stringify(globexGot));
  const dynamic = "demo://resource/dynamic/text/1";
  // (Three copies of one server offer the same URIs: the first to list them serves them, under its namespace.)
  const umbrellaRead = await rpc(mcpUrl, umbrella.token, "resources/read", { uri: dynamic }, dynamic);
  check("a tenant reads an upstream resource in its view", /^Resource 1: /.test(umbrellaRead.result?.contents?.[0]?.text ?? ""),
    JSON.stringify(umbrellaRead));
  const globexRead = await rpc(mcpUrl, globex.token, "resources/read", { uri: dynamic }, dynamic);
  check("globex cannot read it: not found for it", globexRead.error?.code === -32602 && globexRead.error?.message === "Resource not found",
    JSON.stringify(globexRead));
  const globexTemplates = (await rpc(mcpUrl, globex.token, "resources/templates/list", {})).result?.resourceTemplates ?? [];
  check("globex lists no template outside its view", globexTemplates.length === 0, JSON.stringify(globexTemplates));

  // -- a tenant's rate limit -------------------------------------------------
  let limited = null;
  for (let i = 0; i < 10 && !limited; i++) {
    const r = await callTool(mcpUrl, globex.token, "add", { a: 1, b: 2 });
    if (r.error?.code === -32029) limited = r;
  }
  check("a tenant past its rate limit is refused with -32029", limited !== null && /tenant globex/.test(limited.error.message), JSON.stringify(limited));
  check("another tenant is not limited by it", text(await callTool(mcpUrl, acme.token, "everything.echo", { message: "free" })) === "Echo: free");

  // -- weighted balancing over 10,000 calls ---------------------------------
  const before = {
    everything: await metric(obsUrl, "cafmcp_route_calls_total", { route: "spread", target: "everything.echo" }),
    mirror: await metric(obsUrl, "cafmcp_route_calls_total", { route: "spread", target: "mirror.echo" }),
  };
  let errors = 0;
  const total = 10000;
  let sent = 0;
  const worker = async () => {
    while (sent < total) {
      sent++;
      const r = await callTool(mcpUrl, acme.token, "everything.echo", { message: "w" });
      if (text(r) !== "Echo: w") errors++;
    }
  };
  const started = Date.now();
  await Promise.all(Array.from({ length: 16 }, worker));
  const everything = (await metric(obsUrl, "cafmcp_route_calls_total", { route: "spread", target: "everything.echo" })) - before.everything;
  const mirror = (await metric(obsUrl, "cafmcp_route_calls_total", { route: "spread", target: "mirror.echo" })) - before.mirror;
  console.log(`      10,000 routed calls in ${Date.now() - started} ms: everything ${everything}, mirror ${mirror}`);
  check("every routed call succeeded", errors === 0, `${errors} errors`);
  check("the routed calls are all counted", everything + mirror === total, `${everything} + ${mirror}`);
  check("weights 3:1 give shares within 5 points of 75 % and 25 %",
    Math.abs(everything / total - 0.75) <= 0.05 && Math.abs(mirror / total - 0.25) <= 0.05, `${everything} / ${mirror}`);
  const timed = (await metric(obsUrl, "cafmcp_route_call_duration_seconds_count", { route: "spread", target: "everything.echo" }))
    + (await metric(obsUrl, "cafmcp_route_call_duration_seconds_count", { route: "spread", target: "mirror.echo" }));
  check("each routed call's duration is recorded by route and target", timed >= total, `${timed}`);
  check("no routed call is counted as failed",
    (await metric(obsUrl, "cafmcp_route_errors_total", { route: "spread", target: "everything.echo" })) === 0
    && (await metric(obsUrl, "cafmcp_route_errors_total", { route: "spread", target: "mirror.echo" })) === 0);
  check("the upstreams served what was routed to them",
    (await metric(obsUrl, "cafmcp_upstream_calls_total", { upstream: "mirror", outcome: "ok" })) >= mirror);

  // -- the fallback chain -----------------------------------------------------
  const pidOf = (name) => Number(node.log.match(new RegExp(`upstream ${name} ready \\(pid (\\d+)`))[1]);
  process.kill(pidOf("everything"), "SIGKILL");
  process.kill(pidOf("mirror"), "SIGKILL");
  await waitForLine(/^\S+ warning +\S+ \S+: upstream everything \(pid \d+\) killed by signal 9\n/m, "everything's exit");
  await waitForLine(/^\S+ warning +\S+ \S+: upstream mirror \(pid \d+\) killed by signal 9\n/m, "mirror's exit");
  const fallbacksBefore = await metric(obsUrl, "cafmcp_route_fallbacks_total", { route: "spread" });
  const viaBackup = await callTool(mcpUrl, acme.token, "everything.echo", { message: "fallback" });
  check("with both targets down the call goes down the fallback chain", text(viaBackup) === "Echo: fallback", JSON.stringify(viaBackup));
  check("the fallback is counted", (await metric(obsUrl, "cafmcp_route_fallbacks_total", { route: "spread" })) === fallbacksBefore + 1);
  check("the backup upstream served it", (await metric(obsUrl, "cafmcp_upstream_calls_total", { upstream: "backup", outcome: "ok" })) >= 1);
} catch (e) {
  check("the run completed", false, e?.stack ?? String(e));
} finally {
  node.proc.kill("SIGTERM");
  for (let i = 0; i < 200 && !node.exited; i++) await sleep(50);
  if (!node.exited) node.proc.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
}
finish();
