// The dashboard as a person sees it: a real 3-node cluster (cafmcp cluster
// up on free ports), headless Chromium (Debian's /usr/bin/chromium) driven
// by playwright-core. The page must show the three members, then update
// by itself (server-sent events, no reload) after MCP requests; a
// screenshot is saved. Every wait is bounded; the cluster is stopped.
//   node dashboard.mjs --binary path/to/cafmcp --out path/to/screenshot.png
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, existsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import net from "node:net";
import { chromium } from "playwright-core";

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) =>
  (a.startsWith("--") ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const binary = args.binary, out = args.out || "dashboard.png";
const browserPath = "/usr/bin/chromium";
if (!existsSync(browserPath)) {
  console.log("chromium is not installed (bash deploy/install-deps.sh): skipped");
  process.exit(77);
}

async function portFree(port) {
  return new Promise(resolve => {
    const s = net.createServer().once("error", () => resolve(false)).once("listening", () => s.close(() => resolve(true)));
    s.listen(port, "127.0.0.1");
  });
}
async function freeBase() { // 9 consecutive free ports: 3 nodes × (cluster, MCP, metrics)
  for (let attempt = 0; attempt < 50; ++attempt) {
    const base = 20000 + Math.floor(Math.random() * 20000);
    let ok = true;
    for (let p = base; p < base + 9 && ok; ++p) ok = await portFree(p);
    if (ok) return base;
  }
  throw new Error("no free ports");
}

const dir = mkdtempSync(join(tmpdir(), "cafmcp-dashboard-"));
writeFileSync(join(dir, "cookie"), "dashboard-test-cookie\n", { mode: 0o600 });
// A routing rule, so the Routing panel has something to show: calls of
// "greet" are served by echo.
writeFileSync(join(dir, "node.json"), JSON.stringify({ routes: { alias: { name: "greet", targets: [{ tool: "echo" }] } } }));
const base = await freeBase();
const up = spawnSync(binary, ["cluster", "up", "--nodes", "3", "--base-port", String(base), "--data-dir", join(dir, "c"),
                              "--cookie-file", join(dir, "cookie"), "--certs-dir", join(dir, "certs"),
                              "--config", join(dir, "node.json"), "--detach"],
                   { encoding: "utf8", timeout: 60000 });
if (up.status !== 0) { console.error(up.stdout, up.stderr); process.exit(1); }
const mcp = base + 1, web = base + 2;

async function call(tool, a) {
  const body = { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: tool, arguments: a,
    _meta: { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} } } };
  const r = await fetch(`http://127.0.0.1:${mcp}/mcp`, { method: "POST", body: JSON.stringify(body), headers: {
    "Content-Type": "application/json", "Accept": "application/json, text/event-stream",
    "MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": tool } });
  return r.json();
}

let browser, failed = false;
const fail = msg => { console.error("FAIL:", msg); failed = true; };
try {
  browser = await chromium.launch({ executablePath: browserPath, args: ["--no-sandbox", "--disable-gpu", "--disable-quic",
    "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`http://127.0.0.1:${web}/dashboard`, { timeout: 15000 });
  // The three members, live.
  await page.waitForFunction(() => document.querySelectorAll("#members tbody tr").length === 3, null, { timeout: 20000 });
  const nodes = await page.$$eval("#members tbody tr", rows => rows.map(r => r.dataset.node));
  if (JSON.stringify(nodes) !== JSON.stringify(["n1", "n2", "n3"])) fail("members shown: " + nodes);
  await page.waitForFunction(() => document.getElementById("conn").textContent === "live", null, { timeout: 10000 });
  const tree = await page.textContent("#tree");
  for (const want of ["core_sup", "session_manager", "replicator", "web"])
    if (!tree.includes(want)) fail("the tree lacks " + want);
  const before = await page.textContent("#summary");
  // A change: requests (and sessions) arrive; the page follows without a reload.
  for (let i = 0; i < 5; ++i) await call("session_open", {});
  await page.waitForFunction(b => document.getElementById("summary").textContent !== b, before, { timeout: 15000 });
  await page.waitForFunction(() => [...document.querySelectorAll("#members tbody tr td:last-child")]
    .map(td => Number(td.textContent) || 0).reduce((a, b) => a + b, 0) >= 5, null, { timeout: 15000 });
  // Routed calls show per route and target.
  for (let i = 0; i < 3; ++i) {
    const r = await call("greet", { text: "hi" });
    if (r?.result?.content?.[0]?.text !== "hi") fail("greet was not served by echo: " + JSON.stringify(r));
  }
  await page.waitForFunction(() => {
    const row = document.querySelector('#routes tbody tr[data-route="alias"][data-target="echo"]');
    return row && Number(row.children[2].textContent) === 3;
  }, null, { timeout: 15000 });
  if (await page.isVisible("#noroutes")) fail("the routing panel still says no routed calls");
  const after = await page.textContent("#summary");
  console.log("before:", before, "| after:", after);
  await page.screenshot({ path: out, fullPage: true });
  console.log("screenshot:", out);
} catch (e) {
  fail(e.stack || String(e));
} finally {
  if (browser) await browser.close();
  spawnSync(binary, ["cluster", "down", "--data-dir", join(dir, "c")], { timeout: 60000 });
  rmSync(dir, { recursive: true, force: true });
}
console.log(failed ? "dashboard: FAILED" : "dashboard: ok");
process.exit(failed ? 1 : 0);
