import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

/** What the test MCP server does; the test changes it between calls. */
export interface McpBehaviour {
  delayMs: number;
  calls: number;
  authorization: string[];
}

/**
 * A real MCP server built with the SDK, served over streamable HTTP (stateless: a fresh server and
 * transport per request) on a free port of 127.0.0.1. Tools: `lookup` (structured output), `fail`
 * (answers isError), `malformed` (structured output that breaks its own outputSchema), and for
 * `expose: '*'`: `Owner.Lookup`, a name the platform cannot use, and `annotated_note`, which says it
 * writes but destroys nothing (`destructiveHint: false`).
 */
export async function startMcpHttpServer(port = 0) {
  const behaviour: McpBehaviour = { delayMs: 0, calls: 0, authorization: [] };
  const build = () => {
    const server = new McpServer({ name: 'test-http-server', version: '1.0.0' });
    server.registerTool(
      'lookup',
      {
        description: 'Looks up a service owner.',
        inputSchema: { service: z.string().min(1) },
        outputSchema: { service: z.string(), owner: z.string() },
      },
      async ({ service }) => {
        behaviour.calls++;
        if (behaviour.delayMs) await new Promise((r) => setTimeout(r, behaviour.delayMs));
        const out = { service, owner: `team-${service}` };
        return { content: [{ type: 'text', text: JSON.stringify(out) }], structuredContent: out };
      },
    );
    server.registerTool('fail', { description: 'Always refuses.', inputSchema: { why: z.string() } }, ({ why }) => {
      behaviour.calls++;
      return { isError: true, content: [{ type: 'text', text: `refused: ${why}` }] };
    });
    server.registerTool(
      'malformed',
      { description: 'Breaks its output schema.', inputSchema: {}, outputSchema: { count: z.number() } },
      () => {
        behaviour.calls++;
        return { content: [{ type: 'text', text: 'x' }], structuredContent: { count: 'many' } as unknown as { count: number } };
      },
    );
    server.registerTool('Owner.Lookup', { description: 'A name no platform tool may have.', inputSchema: {} }, () => ({
      content: [{ type: 'text', text: 'unreachable' }],
    }));
    server.registerTool(
      'annotated_note',
      { description: 'Adds a note.', inputSchema: {}, annotations: { readOnlyHint: false, destructiveHint: false } },
      () => ({ content: [{ type: 'text', text: 'noted' }] }),
    );
    return server;
  };
  const http: Server = createServer((req, res) => {
    behaviour.authorization.push(req.headers.authorization ?? '');
    const server = build();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    server
      .connect(transport)
      .then(() => transport.handleRequest(req, res))
      .catch((err: unknown) => res.writeHead(500).end(String(err)));
  });
  await new Promise<void>((resolve) => http.listen(port, '127.0.0.1', () => resolve()));
  const actual = (http.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actual}/mcp`,
    port: actual,
    behaviour,
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}
