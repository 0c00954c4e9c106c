// Reference: the echo tool on the official TypeScript SDK v1 server with
// session-based Streamable HTTP (initialize + Mcp-Session-Id, JSON responses).
// Usage: node v1_session_server.mjs PORT   (0: any; prints "LISTENING <port>")
import { createServer } from "node:http";
import { randomUUID } from "node:crypto";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { z } from "zod";

const transports = new Map();
const srv = createServer(async (req, res) => {
  let raw = "";
  for await (const chunk of req) raw += chunk;
  let body;
  try {
    body = raw ? JSON.parse(raw) : undefined;
  } catch {
    res.writeHead(400).end();
    return;
  }
  const sid = req.headers["mcp-session-id"];
  let transport = sid ? transports.get(sid) : undefined;
  if (!transport) {
    if (body?.method !== "initialize") {
      res.writeHead(sid ? 404 : 400).end();
      return;
    }
    transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableJsonResponse: true,
      onsessioninitialized: (id) => transports.set(id, transport),
    });
    const server = new McpServer({ name: "ts-v1-reference", version: "1.0.0" });
    server.registerTool("echo", { description: "Returns its text.", inputSchema: { text: z.string() } },
      async ({ text }) => ({ content: [{ type: "text", text }] }));
    await server.connect(transport);
  }
  await transport.handleRequest(req, res, body);
});
srv.listen(Number(process.argv[2] ?? 0), "127.0.0.1", () => console.log(`LISTENING ${srv.address().port}`));
