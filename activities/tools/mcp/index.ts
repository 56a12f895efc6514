/**
 * MCP (Model Context Protocol) in the platform: client connections to MCP servers, pooled per process
 * ({@link mcpServer}), platform tools written on top of one ({@link defineMcpTool}), and the `mcp`
 * adapter that turns a configured server instance into tools ({@link createMcpTools}).
 *
 * @module
 */
export { mcpServer, closeMcpServers } from './client-pool';
export { McpServerConnection, MCP_TOOL_ERROR, resultText, type McpServerSpec } from './connection';
export { createMcpTools, sideEffectOf } from './configured';
export { resolveServerEntry } from './server-process';
export { defineMcpTool, type McpCall, type McpToolDefinition } from './tool';
