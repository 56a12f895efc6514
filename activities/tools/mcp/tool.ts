// Platform tools written in TypeScript whose work is calls to tools of an MCP server (memory_note).
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Evidence } from '../../../contracts/run';
import { defineTool, type ToolContext, type ToolDefinition } from '../tool';
import { mcpServer } from './client-pool';
import { McpServerConnection, type McpServerSpec } from './connection';

/** Calls a tool of the tool's server, with the call's signal and the tool's timeout. */
export type McpCall = (tool: string, args: Record<string, unknown>) => Promise<CallToolResult>;

/** A platform tool backed by an MCP server: the usual definition, plus the server, and an execute that gets a `call`. */
export interface McpToolDefinition<I, O> extends Omit<ToolDefinition<I, O>, 'execute'> {
  server: McpServerSpec | McpServerConnection;
  execute(args: I, ctx: ToolContext, call: McpCall): Promise<{ output: O; evidence?: Evidence[] }>;
}

/**
 * Defines a platform tool whose `execute` calls tools of an MCP server. The server is the shared
 * connection of this process ({@link mcpServer}) unless a connection is given; each call carries
 * `ctx.signal` and the tool's `timeout_ms`.
 */
export function defineMcpTool<I, O>(definition: McpToolDefinition<I, O>): ToolDefinition & { server: McpServerConnection } {
  const { server, ...rest } = definition;
  const connection = server instanceof McpServerConnection ? server : mcpServer(server);
  const tool = defineTool<I, O>({
    ...rest,
    execute: (args, ctx) =>
      definition.execute(args, ctx, (name, callArgs) =>
        connection.callTool(name, callArgs, { signal: ctx.signal, timeoutMs: definition.timeout_ms }),
      ),
  });
  return Object.assign(tool, { server: connection });
}
