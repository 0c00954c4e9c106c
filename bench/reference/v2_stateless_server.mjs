// Reference: the echo tool on the official TypeScript SDK v2 server,
// stateless MCP 2026-07-28 (createMcpHandler, JSON responses).
// Usage: node v2_stateless_server.mjs PORT   (0: any; prints "LISTENING <port>")
import { createServer } from "node:http";
import { McpServer, createMcpHandler } from "@modelcontextprotocol/server";
import { toNodeHandler } from "@modelcontextprotocol/node";
import { z } from "zod";

const handler = createMcpHandler(
  () => {
    const server = new McpServer({ name: "ts-v2-reference", version: "1.0.0" });
    server.registerTool("echo", { description: "Returns its text.", inputSchema: z.object({ text: z.string() }) },
      async ({ text }) => ({ content: [{ type: "text", text }] }));
    return server;
  },
  { responseMode: "json", legacy: "reject" },
);
const serve = toNodeHandler(handler);
const srv = createServer((req, res) => serve(req, res));
srv.listen(Number(process.argv[2] ?? 0), "127.0.0.1", () => console.log(`LISTENING ${srv.address().port}`));
