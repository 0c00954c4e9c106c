// A cafmcp node serving a real upstream MCP server from npm
// (@modelcontextprotocol/server-everything over stdio, pinned in
// package-lock.json), driven by both official TypeScript SDK generations:
// its tools namespaced in tools/list, calls with progress and cancellation,
// its elicitation and sampling requests relayed to the client of the call,
// its resource updates to the clients that subscribed,
// kill -9 of the upstream process (clear errors, then the supervisor's
// restart, counted in the tree), and the process gone with the node.
//   node upstream.mjs --binary path/to/cafmcp
// Prints one line per check and "N passed, M failed"; exits 1 on a failure.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";

import { check, expectReject, finish, metric, sleep, startNode } from "./checks.mjs";

const { values: opts } = parseArgs({ options: { binary: { type: "string" } } });
if (!opts.binary) {
  console.error("usage: node upstream.mjs --binary PATH/TO/cafmcp");
  process.exit(2);
}

const text = (result) => result?.content?.[0]?.text;

// The upstream as an operator would configure it: its bin script run by node.
const require = createRequire(import.meta.url);
const pkgDir = dirname(require.resolve("@modelcontextprotocol/server-everything/package.json"));
const pkg = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
const serverScript = join(pkgDir, pkg.bin["mcp-server-everything"]);

const dir = mkdtempSync(join(tmpdir(), "cafmcp-upstream-"));
const configPath = join(dir, "node.json");
writeFileSync(configPath, JSON.stringify({
  name: "up1",
  // A restart comes 3 s after the kill (±20 %): longer than the checks of
  // the time between need, on a loaded machine too.
  supervision: { restart_backoff: { initial_ms: 3000 } },
  upstreams: { everything: { command: [process.execPath, serverScript], call_timeout_ms: 20000 } },
}));

// The node's log, and a wait for one whole line of it.
const node = startNode(opts.binary, ["--config", configPath, "--http-port", "0", "--metrics-port", "0", "--log-level", "info"]);
const waitForLine = node.waitForLine;
const readyLine = /^\S+ info +\S+ \/: node up1 ready cluster=\S+ mcp=(http:\/\/\S+) observability=(http:\/\/\S+)\n/m;
// "upstream everything ready (pid N, SERVER VERSION, K tools)" as a whole line.
const upstreamReady = (exceptPid) => new RegExp(
  `^\\S+ info +\\S+ /root/protocol_sup/upstream_sup/everything: upstream everything ready \\(pid (?!${exceptPid}\\b)(\\d+), [^\\n]*, (\\d+) tools\\)\\n`, "m");

async function makeClient(sdkGen, url, capabilities = {}) {
  if (sdkGen === "v1") {
    const { Client } = await import("@modelcontextprotocol/sdk/client/index.js");
    const { StreamableHTTPClientTransport } = await import("@modelcontextprotocol/sdk/client/streamableHttp.js");
    const client = new Client({ name: "upstream-v1", version: "1.0.0" }, { capabilities });
    await client.connect(new StreamableHTTPClientTransport(new URL(url)));
    return client;
  }
  const sdk = await import("@modelcontextprotocol/client");
  const client = new sdk.Client({ name: "upstream-v2", version: "2.0.0" }, { capabilities, versionNegotiation: { mode: { pin: "2026-07-28" } } });
  await client.connect(new sdk.StreamableHTTPClientTransport(new URL(url)));
  return client;
}
// v1: callTool(params, resultSchema, options); v2: callTool(params, options).
const callWith = (sdkGen, client, params, options) =>
  sdkGen === "v1" ? client.callTool(params, undefined, options) : client.callTool(params, options);

try {
  const [, mcpUrl, obsUrl] = await waitForLine(readyLine, "ready line");
  const first = node.log.match(upstreamReady(0));
  check("the upstream was ready before the node's ready line", first !== null && node.log.indexOf(first[0]) < node.log.search(readyLine));
  const firstPid = Number(first[1]);

  // The upstream asks the client of a call for input (elicitation,
  // sampling): relayed to it (v1: a request on the call's stream; v2:
  // input_required and a retry), its answer relayed back. Before the
  // cancellations below: while a cancelled call may still run upstream,
  // no input request is relayed (it could be that call's).
  for (const sdkGen of ["v1", "v2"]) {
    const asking = await makeClient(sdkGen, mcpUrl, { elicitation: {}, sampling: {} });
    const elicit = async () => ({ action: "accept", content: { name: `Ann ${sdkGen}` } });
    const sample = async () => ({ role: "assistant", content: { type: "text", text: `sampled by ${sdkGen}` }, model: "test" });
    if (sdkGen === "v1") {
      const types = await import("@modelcontextprotocol/sdk/types.js");
      asking.setRequestHandler(types.ElicitRequestSchema, elicit);
      asking.setRequestHandler(types.CreateMessageRequestSchema, sample);
    } else {
      asking.setRequestHandler("elicitation/create", elicit);
      asking.setRequestHandler("sampling/createMessage", sample);
    }
    // The server registers these tools once it knows the node relays input
    // (after initialize): listed by the node on its tools/list_changed.
    let listed = [];
    for (let i = 0; i < 100 && !listed.includes("everything.trigger-sampling-request"); i++) {
      listed = (await asking.listTools()).tools.map((t) => t.name);
      if (!listed.includes("everything.trigger-sampling-request")) await sleep(50);
    }
    check(`${sdkGen}: the upstream's tools that need input from the client are listed`,
      listed.includes("everything.trigger-elicitation-request") && listed.includes("everything.trigger-sampling-request"),
      JSON.stringify(listed));
    const elicited = await callWith(sdkGen, asking, { name: "everything.trigger-elicitation-request", arguments: {} }, { timeout: 20000 });
    check(`${sdkGen}: the upstream's elicitation reaches the client and its answer the upstream`,
      JSON.stringify(elicited).includes(`Ann ${sdkGen}`), JSON.stringify(elicited).slice(0, 400));
    const sampled = await callWith(sdkGen, asking,
      { name: "everything.trigger-sampling-request", arguments: { prompt: "hello" } }, { timeout: 20000 });
    check(`${sdkGen}: the upstream's sampling request reaches the client and its answer the upstream`,
      JSON.stringify(sampled).includes(`sampled by ${sdkGen}`), JSON.stringify(sampled).slice(0, 400));
    await asking.close();
  }

  // A client's subscription to an upstream's resource reaches the upstream,
  // and the upstream's updates reach the client (everything sends them, at
  // once and every 5 s, once toggle-subscriber-updates is called).
  {
    const types = await import("@modelcontextprotocol/sdk/types.js");
    const v1 = await makeClient("v1", mcpUrl);
    const v2 = await makeClient("v2", mcpUrl);
    const { resources } = await v1.listResources();
    const uri = resources.find((r) => r.uri.startsWith("demo://resource/static/document/"))?.uri ?? "demo://none";
    const arrival = (register) => new Promise((resolve) => {
      const timer = setTimeout(() => resolve(null), 15000);
      register((u) => { clearTimeout(timer); resolve(u); });
    });
    const v1Updated = arrival((done) => v1.setNotificationHandler(types.ResourceUpdatedNotificationSchema,
      (n) => { if (n.params.uri === uri) done(n.params.uri); }));
    const v2Updated = arrival((done) => v2.setNotificationHandler("notifications/resources/updated",
      (n) => { if (n.params.uri === uri) done(n.params.uri); }));
    await v1.subscribeResource({ uri });
    const listen = await v2.listen({ resourceSubscriptions: [uri] });
    const toggled = await v1.callTool({ name: "everything.toggle-subscriber-updates", arguments: {} });
    check("v1: an upstream resource's update reaches the client that subscribed to it", (await v1Updated) === uri,
      `${uri}: ${JSON.stringify(toggled)}`);
    check("v2: an upstream resource's update reaches a listen stream that names it", (await v2Updated) === uri, uri);
    await v1.callTool({ name: "everything.toggle-subscriber-updates", arguments: {} }); // off again
    await listen.close();
    await v1.close();
    await v2.close();
  }

  for (const sdkGen of ["v1", "v2"]) {
    const client = await makeClient(sdkGen, mcpUrl);
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name);
    check(`${sdkGen}: tools/list holds the upstream's tools under its namespace`,
      names.includes("everything.echo") && names.includes("everything.get-sum") && names.includes("everything.trigger-long-running-operation"),
      JSON.stringify(names));
    check(`${sdkGen}: the node's own tools are still listed`, names.includes("echo") && names.includes("add"));
    const echo = tools.find((t) => t.name === "everything.echo");
    check(`${sdkGen}: an upstream tool keeps its schema and description`,
      echo?.inputSchema?.properties?.message?.type === "string" && /Echo/.test(echo?.description ?? ""), JSON.stringify(echo));
    check(`${sdkGen}: a call is relayed to the upstream`,
      text(await client.callTool({ name: "everything.echo", arguments: { message: `hi ${sdkGen}` } })) === `Echo: hi ${sdkGen}`);
    check(`${sdkGen}: arguments and results pass through`,
      /3/.test(text(await client.callTool({ name: "everything.get-sum", arguments: { a: 1, b: 2 } }))));
    const refused = await client.callTool({ name: "everything.echo", arguments: { message: 5 } });
    check(`${sdkGen}: arguments the upstream's schema refuses are refused by the node`,
      refused.isError === true && /^Invalid arguments for tool everything\.echo: message: must be a string/.test(text(refused)),
      JSON.stringify(refused));

    const { prompts } = await client.listPrompts();
    const args = prompts.find((p) => p.name === "everything.args-prompt");
    check(`${sdkGen}: prompts/list holds the upstream's prompts under its namespace`,
      prompts.some((p) => p.name === "everything.simple-prompt") && args !== undefined, JSON.stringify(prompts.map((p) => p.name)));
    check(`${sdkGen}: an upstream prompt keeps its arguments`,
      args?.arguments?.some((a) => a.name === "city" && a.required === true) && args?.arguments?.some((a) => a.name === "state" && !a.required),
      JSON.stringify(args));
    const got = await client.getPrompt({ name: "everything.args-prompt", arguments: { city: "Oslo" } });
    check(`${sdkGen}: prompts/get is relayed with its arguments`, got?.messages?.[0]?.content?.text === "What's weather in Oslo?",
      JSON.stringify(got));
    await expectReject(`${sdkGen}: a missing required prompt argument is refused by the node`,
      client.getPrompt({ name: "everything.args-prompt", arguments: {} }),
      (e) => e?.code === -32602 && /missing required prompt argument "city"/.test(e?.message));

    const { resources } = await client.listResources();
    const doc = resources.find((r) => r.uri.startsWith("demo://resource/static/document/"));
    check(`${sdkGen}: resources/list holds the upstream's resources, named under its namespace`,
      doc !== undefined && doc.name.startsWith("everything."), JSON.stringify(resources.slice(0, 3)));
    check(`${sdkGen}: the node's own resources are still listed`, resources.some((r) => r.uri === "cafmcp://server/info"));
    const read = await client.readResource({ uri: doc?.uri ?? "demo://none" });
    check(`${sdkGen}: resources/read of an upstream resource is relayed`,
      read?.contents?.[0]?.uri === doc?.uri && (read?.contents?.[0]?.text ?? "").length > 0, JSON.stringify(read).slice(0, 200));
    const { resourceTemplates } = await client.listResourceTemplates();
    check(`${sdkGen}: resources/templates/list holds the upstream's templates`,
      resourceTemplates.some((t) => t.uriTemplate === "demo://resource/dynamic/text/{resourceId}" && t.name.startsWith("everything.")),
      JSON.stringify(resourceTemplates));
    const dynamic = await client.readResource({ uri: "demo://resource/dynamic/text/3" });
    check(`${sdkGen}: a URI of an upstream's template is read from the upstream`,
      /^Resource 3: This is a plaintext resource/.test(dynamic?.contents?.[0]?.text ?? ""), JSON.stringify(dynamic));

    const progress = [];
    const done = await callWith(sdkGen, client,
      { name: "everything.trigger-long-running-operation", arguments: { duration: 1, steps: 3 } },
      { onprogress: (p) => progress.push(p.progress), timeout: 20000 });
    check(`${sdkGen}: the upstream's progress reaches the client`, progress.join(",") === "1,2,3", JSON.stringify(progress));
    check(`${sdkGen}: the long call completes`, /completed/.test(text(done)), JSON.stringify(done));

    const before = await metric(obsUrl, "cafmcp_upstream_calls_total", { upstream: "everything", outcome: "cancelled" });
    const abort = new AbortController();
    const cancelled = callWith(sdkGen, client,
      { name: "everything.trigger-long-running-operation", arguments: { duration: 10, steps: 10 } }, { signal: abort.signal });
    setTimeout(() => abort.abort("test cancels"), 300);
    await expectReject(`${sdkGen}: a cancelled call rejects on the client`, cancelled, () => true);
    let after = before;
    for (let i = 0; i < 100 && after === before; i++) {
      await sleep(50);
      after = await metric(obsUrl, "cafmcp_upstream_calls_total", { upstream: "everything", outcome: "cancelled" });
    }
    check(`${sdkGen}: the cancellation is passed on to the upstream`, after === before + 1, `${before} -> ${after}`);
    check(`${sdkGen}: calls work after a cancel`,
      text(await client.callTool({ name: "everything.echo", arguments: { message: "again" } })) === "Echo: again");
    await client.close();
  }

  // kill -9 of the upstream process: calls in between fail with a clear
  // error, the supervisor starts it again, calls work again.
  const client = await makeClient("v2", mcpUrl);
  const inFlight = callWith("v2", client,
    { name: "everything.trigger-long-running-operation", arguments: { duration: 5, steps: 5 } }, { timeout: 20000 });
  await sleep(300);
  process.kill(firstPid, "SIGKILL");
  await expectReject("a call in flight when the upstream is killed fails with the reason", inFlight,
    (e) => e?.code === -32603 && /upstream everything exited while the call ran \(killed by signal 9\)/.test(e?.message));
  await waitForLine(/^\S+ warning +\S+ \/root\/protocol_sup\/upstream_sup\/everything: upstream everything \(pid \d+\) killed by signal 9\n/m,
    "the upstream's exit");
  await expectReject("a call while the upstream restarts fails with a clear error",
    client.callTool({ name: "everything.echo", arguments: { message: "between" } }),
    (e) => e?.code === -32603 && /upstream everything is down \(killed by signal 9; the supervisor restarts it\)/.test(e?.message));
  await expectReject("a prompt of the upstream while it is down fails at once with the reason",
    client.getPrompt({ name: "everything.simple-prompt" }),
    (e) => e?.code === -32603 && /upstream everything is down \(killed by signal 9; the supervisor restarts it\)/.test(e?.message));
  const second = await waitForLine(upstreamReady(firstPid), "the upstream's restart");
  check("the supervisor started the upstream again with a new process", Number(second[1]) !== firstPid);
  check("calls work after the restart",
    text(await client.callTool({ name: "everything.echo", arguments: { message: "back" } })) === "Echo: back");
  check("prompts work after the restart",
    (await client.getPrompt({ name: "everything.simple-prompt" }))?.messages?.[0]?.content?.text === "This is a simple prompt without arguments.");
  check("the restart shows in the supervision tree",
    (await metric(obsUrl, "cafmcp_child_restarts", { path: "/root/protocol_sup/upstream_sup/everything" })) === 1);
  check("relayed calls are counted by outcome",
    (await metric(obsUrl, "cafmcp_upstream_calls_total", { upstream: "everything", outcome: "ok" })) >= 8
    && (await metric(obsUrl, "cafmcp_upstream_calls_total", { upstream: "everything", outcome: "error" })) >= 1);
  await client.close();

  // The upstream's process ends with its node.
  const secondPid = Number(second[1]);
  const stopAt = Date.now();
  node.proc.kill("SIGTERM");
  for (let i = 0; i < 600 && !node.exited; i++) await sleep(50);
  console.log(`stopped after ${Date.now() - stopAt} ms`);
  check("the node stops on SIGTERM", node.exited);
  let gone = false;
  for (let i = 0; i < 100 && !gone; i++) {
    try {
      process.kill(secondPid, 0);
      await sleep(50);
    } catch {
      gone = true;
    }
  }
  check("the upstream process ends with its node", gone);
} catch (e) {
  check("the run completed", false, e?.stack ?? String(e));
} finally {
  if (!node.exited) { console.log(node.log.split("\n").slice(-25).join("\n")); node.proc.kill("SIGKILL"); }
  rmSync(dir, { recursive: true, force: true });
}
finish();
