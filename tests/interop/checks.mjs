// What the interop scripts share: named checks with a tally, the node's
// token command, a bounded wait for a whole log line, and /metrics values.

import { execFileSync, spawn } from "node:child_process";

export const tally = { passed: 0, failed: 0 };

export function check(name, ok, detail = "") {
  if (ok) {
    tally.passed++;
    console.log(`ok    ${name}`);
  } else {
    tally.failed++;
    console.log(`FAIL  ${name} ${detail}`);
  }
}

export async function expectReject(name, promise, predicate) {
  try {
    await promise;
    check(name, false, "(no error)");
  } catch (e) {
    check(name, predicate(e), `(${e?.code} ${e?.message})`);
  }
}

/// Prints the tally and ends the process: 0 when every check passed.
export function finish() {
  console.log(`${tally.passed} passed, ${tally.failed} failed`);
  process.exit(tally.failed === 0 ? 0 : 1);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/// A static API token made as an operator would (`cafmcp token create`):
/// the token and its mcp.auth.static_tokens entry.
export function makeToken(binary, subject, tenant = "") {
  const args = ["token", "create", "--subject", subject];
  if (tenant) args.push("--tenant", tenant);
  const out = execFileSync(binary, args, { encoding: "utf8" });
  const m = out.match(/shown only now\):\n {2}(\S+)\n[^\n]*\n {2}("sha256:[^\n]+")/);
  if (!m) throw new Error(`unexpected output of token create:\n${out}`);
  return { token: m[1], entry: JSON.parse(m[2]) };
}

/// Waits (bounded) until `log()` holds a match of `re` (a whole line: anchor
/// it and end it with \n); throws with the log when the node exits first.
export async function waitForLine(log, exited, re, what, ms = 30000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const m = log().match(re);
    if (m) return m;
    if (exited()) throw new Error(`the node exited while waiting for ${what}:\n${log()}`);
    await sleep(20);
  }
  throw new Error(`no ${what} within ${ms} ms:\n${log()}`);
}

/// The sum of the series of `name` carrying every label in `labels`.
export async function metric(obsUrl, name, labels) {
  const body = await (await fetch(`${obsUrl}/metrics`)).text();
  let sum = 0;
  for (const line of body.split("\n")) {
    if (!line.startsWith(name + "{")) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) sum += Number(line.split(" ").pop());
  }
  return sum;
}

/// `cafmcp node ARGS` with its log (stderr) kept: node.log, node.exited,
/// node.waitForLine(re, what, ms), node.proc (the child).
export function startNode(binary, args) {
  const node = { log: "", exited: false };
  node.proc = spawn(binary, ["node", ...args], { stdio: ["ignore", "ignore", "pipe"] });
  node.proc.stderr.on("data", (d) => { node.log += d; });
  node.proc.on("exit", () => { node.exited = true; });
  node.waitForLine = (re, what, ms) => waitForLine(() => node.log, () => node.exited, re, what, ms);
  return node;
}
