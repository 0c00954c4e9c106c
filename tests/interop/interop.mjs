// Drives a real cafmcp node with an official MCP TypeScript SDK.
//   node interop.mjs --sdk v1|v2 --binary path/to/notes_server [--transport stdio]
// The binary is the notes example (cafmcp's built-ins plus board_post,
// which changes the catalog at run time) with the conformance tools on,
// so the run covers notifications, input requests and tasks too.
// v1 (@modelcontextprotocol/sdk 1.x) speaks session-based MCP (initialize);
// v2 (@modelcontextprotocol/client 2.x) is pinned to MCP 2026-07-28.
// Prints one line per check and "N passed, M failed"; exits 1 on a failure.

import { spawn } from "node:child_process";
import { generateKeyPairSync, sign as signBytes } from "node:crypto";
import { createServer } from "node:http";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

import { check, expectReject, finish, makeToken as makeTokenFor, sleep, tally } from "./checks.mjs";

const { values: opts } = parseArgs({
  options: {
    sdk: { type: "string", default: "v1" },
    binary: { type: "string" },
    transport: { type: "string", default: "stdio" },
  },
});
if (!opts.binary) {
  console.error("usage: node interop.mjs --sdk v1|v2 --binary PATH [--transport stdio]");
  process.exit(2);
}

// Over HTTP the node needs a bearer token (mcp.auth), made as an operator would.
const makeToken = (subject) => makeTokenFor(opts.binary, subject);
const tokens = { main: makeToken(`interop-${opts.sdk}`), other: makeToken(`interop-${opts.sdk}-other`) };

// And JWT access tokens from a test identity provider on 127.0.0.1: an RSA
// key, its JWKS served over HTTP (the node fetches it, mcp.auth.jwt.jwks_url),
// tokens it signs (RS256, typ at+jwt as RFC 9068 has them).
const idp = { issuer: "https://id.interop.test/", audience: "https://interop.test/mcp", key: generateKeyPairSync("rsa", { modulusLength: 2048 }) };
const b64url = (s) => Buffer.from(s).toString("base64url");
function jwtFor(over = {}, key = idp.key.privateKey) {
  const now = Math.floor(Date.now() / 1000);
  const claims = { iss: idp.issuer, aud: idp.audience, sub: `interop-${opts.sdk}-jwt`, iat: now, exp: now + 600, ...over };
  const input = `${b64url(JSON.stringify({ alg: "RS256", typ: "at+jwt", kid: "interop-1" }))}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${signBytes("sha256", Buffer.from(input), key).toString("base64url")}`;
}
const configDir = mkdtempSync(join(tmpdir(), "cafmcp-interop-"));
const jwks = JSON.stringify({ keys: [{ ...idp.key.publicKey.export({ format: "jwk" }), kid: "interop-1", use: "sig", alg: "RS256" }] });
let jwksFetches = 0;
const idpServer = createServer((req, res) => {
  if (req.method === "GET" && req.url === "/jwks") {
    jwksFetches++;
    res.writeHead(200, { "Content-Type": "application/json" }).end(jwks);
  } else {
    res.writeHead(404).end();
  }
});
await new Promise((resolve) => idpServer.listen(0, "127.0.0.1", resolve));
const jwksUrl = `http://127.0.0.1:${idpServer.address().port}/jwks`;
const configPath = join(configDir, "node.json");
writeFileSync(configPath, JSON.stringify({
  mcp: {
    conformance_tools: true,
    auth: {
      enabled: true,
      static_tokens: [tokens.main.entry, tokens.other.entry],
      jwt: { jwks_url: jwksUrl, issuer: idp.issuer, audience: idp.audience },
      tool_scopes: ["test_simple_text=math"],
    },
  },
}));

/// Resolves with the first value `register(resolve)` delivers, or rejects after `ms`.
function waitFor(register, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nothing arrived within ${ms} ms`)), ms);
    register((v) => {
      clearTimeout(timer);
      resolve(v);
    });
  });
}

// Over HTTP, one node serves every client of the run.
let httpNode = null;
let httpUrl = null;
async function startHttpNode() {
  httpNode = spawn(opts.binary, ["node", "--http-port", "0", "--metrics-port", "0", "--log-level", "info", "--config", configPath], { stdio: ["ignore", "ignore", "pipe"] });
  httpUrl = await new Promise((resolve, reject) => {
    let log = "";
    const timer = setTimeout(() => reject(new Error(`node did not start:\n${log}`)), 20000);
    httpNode.stderr.on("data", (d) => {
      log += d;
      // The node's whole ready line (not a word in another line), ended by its newline.
      const m = log.match(/^\S+ info +(?:\S+ )?\/: node \S+ ready cluster=\S+ mcp=(http:\/\/\S+) observability=\S+\n/m);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    httpNode.on("exit", (code) => reject(new Error(`node exited with ${code}:\n${log}`)));
  });
}

async function makeClient(name, capabilities = {}, token = tokens.main.token) {
  const requestInit = token ? { headers: { Authorization: `Bearer ${token}` } } : undefined;
  const serverParams = { command: opts.binary, args: ["node", "--stdio", "--http-port", "0", "--metrics-port", "0", "--log-level", "warning", "--config", configPath], stderr: "inherit" };
  if (opts.sdk === "v1") {
    const { Client } = await import("@modelcontextprotocol/sdk/client/index.js");
    const client = new Client({ name, version: "1.0.0" }, { capabilities });
    if (opts.transport === "http") {
      const { StreamableHTTPClientTransport } = await import("@modelcontextprotocol/sdk/client/streamableHttp.js");
      await client.connect(new StreamableHTTPClientTransport(new URL(httpUrl), { requestInit }));
    } else {
      const { StdioClientTransport } = await import("@modelcontextprotocol/sdk/client/stdio.js");
      await client.connect(new StdioClientTransport(serverParams));
    }
    return client;
  }
  const sdk = await import("@modelcontextprotocol/client");
  const client = new sdk.Client({ name, version: "2.0.0" }, { capabilities, versionNegotiation: { mode: { pin: "2026-07-28" } } });
  if (opts.transport === "http") {
    await client.connect(new sdk.StreamableHTTPClientTransport(new URL(httpUrl), { requestInit }));
  } else {
    const { StdioClientTransport } = await import("@modelcontextprotocol/client/stdio");
    await client.connect(new StdioClientTransport(serverParams));
  }
  return client;
}

const text = (result) => result?.content?.[0]?.text;

// v1: callTool(params, resultSchema, options); v2: callTool(params, options).
const callWith = (client, params, options) =>
  opts.sdk === "v1" ? client.callTool(params, undefined, options) : client.callTool(params, options);

async function scenario() {
  if (opts.transport === "http") {
    await expectReject("without a bearer token the connect is refused (401)",
      makeClient(`cafmcp-interop-${opts.sdk}-anonymous`, {}, null), (e) => /401|nauthorized/.test(`${e?.code} ${e?.message}`));
    await expectReject("with an unknown bearer token the connect is refused (401)",
      makeClient(`cafmcp-interop-${opts.sdk}-forged`, {}, "not-a-token"), (e) => /401|nauthorized/.test(`${e?.code} ${e?.message}`));
    const now = Math.floor(Date.now() / 1000);
    for (const [what, token] of [
      ["an expired JWT", jwtFor({ exp: now - 600 })],
      ["a JWT for another audience", jwtFor({ aud: "https://other.test/mcp" })],
      ["a JWT from another issuer", jwtFor({ iss: "https://evil.test/" })],
      ["a JWT signed by another key", jwtFor({}, generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey)],
    ])
      await expectReject(`with ${what} the connect is refused (401)`,
        makeClient(`cafmcp-interop-${opts.sdk}-jwt-refused`, {}, token), (e) => /401|nauthorized/.test(`${e?.code} ${e?.message}`));
    const viaJwt = await makeClient(`cafmcp-interop-${opts.sdk}-jwt`, {}, jwtFor());
    check("with the identity provider's JWT the client connects and calls a tool",
      text(await viaJwt.callTool({ name: "echo", arguments: { text: "signed" } })) === "signed");
    await expectReject("a JWT without the tool's scope is refused that tool (403)",
      viaJwt.callTool({ name: "test_simple_text", arguments: {} }), (e) => /403|forbidden|insufficient[_ ]scope/i.test(`${e?.code} ${e?.message}`));
    await viaJwt.close();
    const withScope = await makeClient(`cafmcp-interop-${opts.sdk}-jwt-math`, {}, jwtFor({ scope: "math" }));
    check("a JWT carrying the tool's scope calls it",
      typeof text(await withScope.callTool({ name: "test_simple_text", arguments: {} })) === "string");
    await withScope.close();
    // What a client (or its OAuth library) reads from each refusal: the status and WWW-Authenticate.
    const probe = async (token, tool = "echo") => {
      const body = { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: tool, arguments: tool === "echo" ? { text: "x" } : {},
        _meta: { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} } } };
      const r = await fetch(httpUrl, { method: "POST", body: JSON.stringify(body), headers: {
        "Content-Type": "application/json", Accept: "application/json, text/event-stream", "MCP-Protocol-Version": "2026-07-28",
        "Mcp-Method": "tools/call", "Mcp-Name": tool, ...(token ? { Authorization: `Bearer ${token}` } : {}) } });
      await r.text();
      return { status: r.status, challenge: r.headers.get("www-authenticate") ?? "" };
    };
    const metadata = /resource_metadata="http:\/\/[^"]+\/\.well-known\/oauth-protected-resource\/mcp"/;
    for (const [what, token, description] of [
      ["no token", null, null],
      ["an expired JWT", jwtFor({ exp: now - 600 }), "the token has expired"],
      ["a JWT for another audience", jwtFor({ aud: "https://other.test/mcp" }), `the token's audience is not ${idp.audience}`],
      ["a JWT from another issuer", jwtFor({ iss: "https://evil.test/" }), `the token's issuer is not ${idp.issuer}`],
      ["a JWT signed by another key", jwtFor({}, generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey), "the token's signature does not verify"],
    ]) {
      const { status, challenge } = await probe(token);
      const wanted = description === null ? !/error=/.test(challenge) : challenge.includes(`error="invalid_token", error_description="${description}"`);
      check(`${what}: 401 with WWW-Authenticate naming the resource metadata${description ? " and why" : ""}`,
        status === 401 && metadata.test(challenge) && wanted, `(${status} ${challenge})`);
    }
    const lacking = await probe(jwtFor(), "test_simple_text");
    check("a JWT without the tool's scope: 403 with WWW-Authenticate insufficient_scope naming the scope",
      lacking.status === 403 && lacking.challenge.includes('error="insufficient_scope", scope="math"'), `(${lacking.status} ${lacking.challenge})`);
    check("the node took the provider's keys from its JWKS URL", jwksFetches >= 1, `(${jwksFetches} fetches)`);
  }
  const client = await makeClient(`cafmcp-interop-${opts.sdk}`);
  check("connect (initialize or server/discover)", true);
  const version = client.getServerVersion?.();
  check("server identifies as cafmcp", version?.name === "cafmcp", JSON.stringify(version));

  const tools = await client.listTools();
  const names = tools.tools.map((t) => t.name);
  for (const t of ["echo", "add", "sleep", "session_open", "session_set", "session_get"])
    check(`tools/list offers ${t}`, names.includes(t), JSON.stringify(names));

  check("tools/call echo", text(await client.callTool({ name: "echo", arguments: { text: "hello" } })) === "hello");
  const sum = await client.callTool({ name: "add", arguments: { a: 2, b: 40 } });
  check("tools/call add (structuredContent)", sum.structuredContent?.sum === 42, JSON.stringify(sum));

  const bad = await client.callTool({ name: "echo", arguments: { text: 5 } });
  check("invalid arguments are a tool error naming the field", bad.isError === true && /text: must be a string/.test(text(bad)), JSON.stringify(bad));
  await expectReject("an unknown tool is -32602", client.callTool({ name: "nope", arguments: {} }), (e) => e.code === -32602);

  const progress = [];
  const slept = await callWith(client, { name: "sleep", arguments: { ms: 300 } }, {
    onprogress: (p) => progress.push(p.progress),
  });
  // The server sends 100, 200, 300 before the result; the v2 client may
  // resolve the call before it delivers the last notification.
  const increasing = progress.every((p, i) => i === 0 || p > progress[i - 1]);
  check("sleep reports increasing progress", progress.length >= 2 && increasing && progress[0] === 100, JSON.stringify(progress));
  check("sleep returns its result", slept.structuredContent?.slept_ms === 300, JSON.stringify(slept));

  const abort = new AbortController();
  const cancelled = callWith(client, { name: "sleep", arguments: { ms: 5000 } }, { signal: abort.signal });
  setTimeout(() => abort.abort("test cancels"), 200);
  await expectReject("a cancelled call rejects on the client", cancelled, () => true);
  check("the server keeps serving after a cancel", text(await client.callTool({ name: "echo", arguments: { text: "after" } })) === "after");

  const opened = await client.callTool({ name: "session_open", arguments: {} });
  const handle = opened.structuredContent?.handle;
  check("session_open returns a handle", typeof handle === "string" && handle.length === 32, JSON.stringify(opened));
  await client.callTool({ name: "session_set", arguments: { handle, key: "colour", value: "green" } });
  const got = await client.callTool({ name: "session_get", arguments: { handle, key: "colour" } });
  check("a handle keeps state across calls", text(got) === "green", JSON.stringify(got));

  const resources = await client.listResources();
  check("resources/list", resources.resources.some((r) => r.uri === "cafmcp://server/info"));
  const info = await client.readResource({ uri: "cafmcp://server/info" });
  check("resources/read", JSON.parse(info.contents[0].text).name === "cafmcp");
  const templates = await client.listResourceTemplates();
  check("resources/templates/list", templates.resourceTemplates.some((t) => t.uriTemplate === "cafmcp://echo/{text}"));
  const echoed = await client.readResource({ uri: "cafmcp://echo/abc" });
  check("resources/read through a template", echoed.contents[0].text === "abc");
  const notFoundCode = opts.sdk === "v1" ? -32002 : -32602;
  await expectReject(`a missing resource is ${notFoundCode}`, client.readResource({ uri: "cafmcp://missing" }), (e) => e.code === notFoundCode);

  const prompts = await client.listPrompts();
  check("prompts/list", prompts.prompts.some((p) => p.name === "greeting"));
  const prompt = await client.getPrompt({ name: "greeting", arguments: { name: "Ann", style: "formal" } });
  check("prompts/get", prompt.messages[0].content.text === "Greet Ann in a formal way.", JSON.stringify(prompt));
  const completion = await client.complete({ ref: { type: "ref/prompt", name: "greeting" }, argument: { name: "name", value: "B" } });
  check("completion/complete", JSON.stringify(completion.completion.values) === JSON.stringify(["Bob"]), JSON.stringify(completion));

  if (opts.sdk === "v1") {
    await client.ping();
    check("ping", true);
    await client.setLoggingLevel("warning");
    check("logging/setLevel", true);
    // A legacy session has an implicit handle: no handle argument needed.
    await client.callTool({ name: "session_set", arguments: { key: "k", value: "implicit" } });
    check("the session's implicit handle", text(await client.callTool({ name: "session_get", arguments: { key: "k" } })) === "implicit");
  }

  // A second client is a separate session / sees no implicit state.
  const second = await makeClient(`cafmcp-interop-${opts.sdk}-2`, {}, tokens.other.token); // another subject
  check("a second client connects", text(await second.callTool({ name: "echo", arguments: { text: "two" } })) === "two");
  const other = await second.callTool({ name: "session_get", arguments: { handle, key: "colour" } });
  if (opts.transport === "http") {
    // One node serves both clients: the handle is the node's, not the client's.
    check("a second client uses the first client's handle", text(other) === "green", JSON.stringify(other));
  } else {
    // Over stdio each client runs its own node: the first node's handle is unknown there.
    check("another node does not know the handle", other.isError === true && /unknown or expired handle/.test(text(other)), JSON.stringify(other));
  }
  const transportErrors = [];
  second.onerror = (e) => transportErrors.push(String(e));
  if (opts.sdk === "v1" && opts.transport === "http") {
    await second.transport.terminateSession();
    check("DELETE ends the second client's session", true);
  }
  await second.close();
  // The session's GET stream ended before the DELETE's 204: closing right
  // after it is not a transport error ("SSE stream disconnected: AbortError").
  check("closing after the DELETE reports no transport error", transportErrors.length === 0, transportErrors.join("; "));
  await client.close();
}

// -- server-initiated messages, input requests, logging, tasks ------------------

async function v1Events() {
  const types = await import("@modelcontextprotocol/sdk/types.js");
  const client = await makeClient("cafmcp-interop-v1-events", { elicitation: {}, sampling: {} });
  client.setRequestHandler(types.ElicitRequestSchema, async (req) => ({ action: "accept", content: { username: "ann", email: "ann@example.com" } }));
  client.setRequestHandler(types.CreateMessageRequestSchema, async () => ({ role: "assistant", content: { type: "text", text: "four" }, model: "test" }));
  const elicited = await client.callTool({ name: "test_elicitation", arguments: { message: "who?" } });
  check("elicitation: the server asks the client mid-call (server-to-client request)", /ann@example\.com/.test(text(elicited)), JSON.stringify(elicited));
  const sampled = await client.callTool({ name: "test_sampling", arguments: { prompt: "2+2?" } });
  check("sampling: the client's answer reaches the tool", text(sampled) === "LLM response: four", JSON.stringify(sampled));

  const logs = [];
  client.setNotificationHandler(types.LoggingMessageNotificationSchema, (n) => logs.push(n.params.data));
  await client.setLoggingLevel("info");
  await client.callTool({ name: "test_tool_with_logging", arguments: {} });
  await sleep(100);
  check("tool log messages arrive as notifications/message", logs.length === 3, JSON.stringify(logs));

  if (opts.transport === "http")
    await sleep(300); // the SDK opens its GET stream after connect without waiting for it
  const topic = `v1-${process.pid}-${opts.transport}`;
  const uri = `notes://board/${topic}`;
  const listChanged = waitFor((done) => client.setNotificationHandler(types.ResourceListChangedNotificationSchema, () => done(true)));
  await client.callTool({ name: "board_post", arguments: { topic, text: "one" } });
  check("resources/list_changed when a tool adds a resource", await listChanged.catch(() => false));
  await client.subscribeResource({ uri });
  const updated = waitFor((done) => client.setNotificationHandler(types.ResourceUpdatedNotificationSchema, (n) => done(n.params.uri)));
  await client.callTool({ name: "board_post", arguments: { topic, text: "two" } });
  check("resources/updated for a subscribed resource", (await updated.catch((e) => e.message)) === uri);
  const read = await client.readResource({ uri });
  check("the added resource reads", read.contents[0].text === "one\ntwo\n", JSON.stringify(read));
  await client.close();
}

async function v2Events() {
  const sdk = await import("@modelcontextprotocol/client");
  const client = await makeClient("cafmcp-interop-v2-events", { elicitation: {}, sampling: {} });
  client.setRequestHandler("elicitation/create", async () => ({ action: "accept", content: { username: "ann", email: "ann@example.com" } }));
  client.setRequestHandler("sampling/createMessage", async () => ({ role: "assistant", content: { type: "text", text: "four" }, model: "test" }));
  const elicited = await client.callTool({ name: "test_elicitation", arguments: { message: "who?" } });
  check("elicitation: input_required, then a retry with the sealed requestState", /ann@example\.com/.test(text(elicited)), JSON.stringify(elicited));
  const sampled = await client.callTool({ name: "test_sampling", arguments: { prompt: "2+2?" } });
  check("sampling through MRTR", text(sampled) === "LLM response: four", JSON.stringify(sampled));

  const logs = [];
  client.setNotificationHandler("notifications/message", (n) => logs.push(n.params.data));
  await client.callTool({ name: "test_tool_with_logging", arguments: {}, _meta: { [sdk.LOG_LEVEL_META_KEY]: "info" } });
  await sleep(100);
  check("tool log messages follow _meta logLevel", logs.length === 3, JSON.stringify(logs));

  const topic = `v2-${process.pid}-${opts.transport}`;
  const listChanged = waitFor((done) => client.setNotificationHandler("notifications/resources/list_changed", () => done(true)));
  const sub = await client.listen({ resourcesListChanged: true, toolsListChanged: true });
  check("subscriptions/listen is acknowledged with the honoured filter", sub.honoredFilter?.resourcesListChanged === true, JSON.stringify(sub.honoredFilter));
  await client.callTool({ name: "board_post", arguments: { topic, text: "one" } });
  check("list_changed arrives on the listen stream", await listChanged.catch(() => false));
  await sub.close();
  check("the client ends its listen", (await sub.closed) === "local");

  // Tasks: this SDK has no API for task results yet, so the tools/call
  // that becomes a task is sent raw; tasks/get and tasks/cancel go through
  // client.request with a schema.
  const tasksClient = await makeClient("cafmcp-interop-v2-tasks", { extensions: { "io.modelcontextprotocol/tasks": {} } });
  const t = tasksClient.transport;
  const inner = t.onmessage;
  const pending = new Map();
  let rawN = 0;
  t.onmessage = (msg, extra) => {
    if (!("method" in msg) && pending.has(msg.id)) {
      const resolve = pending.get(msg.id);
      pending.delete(msg.id);
      return resolve(msg);
    }
    inner(msg, extra);
  };
  const rawRequest = (method, params) =>
    new Promise((resolve, reject) => {
      const id = `raw:${rawN++}`;
      pending.set(id, resolve);
      t.send({ jsonrpc: "2.0", id, method, params: { ...params, _meta: { ...tasksClient._outboundMetaEnvelope() } } }).catch(reject);
    });
  const anything = sdk.fromJsonSchema({ type: "object" });
  const created = (await rawRequest("tools/call", { name: "sleep", arguments: { ms: 300 } })).result;
  check("sleep becomes a task", created?.resultType === "task" && created?.status === "working", JSON.stringify(created));
  let task = null;
  for (let i = 0; i < 50; i++) {
    task = await tasksClient.request({ method: "tasks/get", params: { taskId: created.taskId } }, anything);
    if (task.status !== "working") break;
    await sleep(100);
  }
  check("tasks/get reports the completed task with its result", task?.status === "completed" && task?.result?.structuredContent?.slept_ms === 300, JSON.stringify(task));
  const long = (await rawRequest("tools/call", { name: "sleep", arguments: { ms: 5000 } })).result;
  await tasksClient.request({ method: "tasks/cancel", params: { taskId: long.taskId } }, anything);
  const cancelled = await tasksClient.request({ method: "tasks/get", params: { taskId: long.taskId } }, anything);
  check("tasks/cancel cancels a task", cancelled.status === "cancelled", JSON.stringify(cancelled));
  await tasksClient.close();
  await client.close();
}

try {
  if (opts.transport === "http")
    await startHttpNode();
  await scenario();
  await (opts.sdk === "v1" ? v1Events() : v2Events());
} catch (e) {
  tally.failed++;
  console.log(`FAIL  scenario threw: ${e?.stack ?? e}`);
}
if (httpNode) {
  httpNode.kill("SIGTERM");
  const code = await new Promise((resolve) => httpNode.on("exit", resolve));
  check("the node stops cleanly on SIGTERM", code === 0, `(exit ${code})`);
}
idpServer.close();
finish();
