import { createDocsSearchTool } from './docs-search';
import { closeMcpServers } from './mcp';
import { createMemoryNoteTool } from './memory-note';
import { ToolRegistry } from './registry';
import { createTicketCreateTool } from './ticket-create';
import { FileTicketStore } from './ticket-store';
import type { ToolDefinition } from './tool';

export interface ToolSettings {
  docsDir: string;
  /** The JSON Lines file of the local ticket store (a stand-in for a ticketing system). */
  ticketsFile: string;
  /**
   * The knowledge-graph file of the MCP memory server behind `memory_note`. Without it the registry
   * has no `memory_note` (the server itself is spawned only on the tool's first call).
   */
  memoryFile?: string;
}

/** Every tool this deployment offers. Worker and gateway build the same registry. */
export function createToolRegistry(settings: ToolSettings): ToolRegistry {
  const tools: ToolDefinition[] = [
    createDocsSearchTool(settings.docsDir),
    createTicketCreateTool(new FileTicketStore(settings.ticketsFile)),
  ];
  if (settings.memoryFile) tools.push(createMemoryNoteTool(settings.memoryFile));
  return new ToolRegistry(tools);
}

/** Stops the server processes of MCP-backed tools this process started: call it at worker shutdown. */
export async function closeTools(): Promise<void> {
  await closeMcpServers();
}
