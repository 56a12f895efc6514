import path from 'node:path';
import { PROJECT_ROOT } from '../../config/settings';
import { createLogger, type Logger } from '../../observability/logger';
import type { Resolver } from './adapters/ssrf';
import { loadConfiguredTools } from './configured';
import { createDocsSearchTool } from './docs-search';
import { closeMcpServers } from './mcp/client-pool';
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
   * The knowledge-graph file of the MCP memory server behind `memory_note` and the configured
   * `memory` instance (`${MCP_MEMORY_FILE}` in tools/). Without it the registry has no `memory_note`
   * (the server itself is spawned only on the first call).
   */
  memoryFile?: string;
  /** The tools configuration folder (default: `TOOLS_DIR`, else the project's tools/). */
  toolsDir?: string;
  /** `${VAR}` values of the configuration and its secret headers (default: the process environment). */
  env?: Record<string, string | undefined>;
  /** Where breaker state changes are logged (default: JSON lines on stdout). */
  logger?: Pick<Logger, 'warn' | 'info'>;
  /** Replaces DNS for the HTTP adapter's SSRF guard (tests). */
  resolver?: Resolver;
}

/**
 * Every tool this deployment offers: the TypeScript tools, and the instances configured in the tools
 * folder. Worker and gateway build the same registry; the worker then calls `discover()` so MCP
 * servers' schemas (and their `expose: '*'` tools) are known before it polls.
 */
export function createToolRegistry(settings: ToolSettings): ToolRegistry {
  const env = settings.env ?? process.env;
  const memoryFile = path.resolve(settings.memoryFile ?? path.join(PROJECT_ROOT, '.data', 'memory.jsonl'));
  const configured = loadConfiguredTools({
    dir: settings.toolsDir ?? (env.TOOLS_DIR ? path.resolve(env.TOOLS_DIR) : path.join(PROJECT_ROOT, 'tools')),
    vars: { ...env, MCP_MEMORY_FILE: memoryFile },
    logger: settings.logger ?? createLogger({ level: 'info', format: 'json', defaults: { service: 'tools' } }),
    ...(settings.resolver ? { resolver: settings.resolver } : {}),
  });
  const tools: ToolDefinition[] = [
    createDocsSearchTool(settings.docsDir),
    createTicketCreateTool(new FileTicketStore(settings.ticketsFile)),
    ...configured.tools,
  ];
  // memory_note shares the server process of the configured `memory` instance: same package, file and env.
  if (settings.memoryFile) tools.push(createMemoryNoteTool(settings.memoryFile));
  return new ToolRegistry(tools, {
    discover: configured.discover,
    close: configured.close,
    check: configured.check,
    circuitState: (tool) => configured.guards.worstState(tool),
  });
}

/** Stops the server processes of MCP-backed tools this process started: call it at worker shutdown. */
export async function closeTools(): Promise<void> {
  await closeMcpServers();
}
