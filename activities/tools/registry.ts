import type { ToolSpec } from '../../contracts/agent';
import type { ToolDefinition } from './tool';

/** What a registry does at worker start and shutdown for tools that need it (configured MCP servers, pools). */
export interface ToolLifecycle {
  /** Returns tools found only by asking their servers (MCP `tools/list`). */
  discover?: () => Promise<ToolDefinition[]>;
  close?: () => Promise<void>;
  /** The worker's start-up checks of what the tools connect to (a `sql` connection's role). */
  check?: () => Promise<void>;
  /** The worst circuit-breaker state of a tool's targets (closed, open, half_open). */
  circuitState?: (tool: string) => string;
}

/** The tools a worker can run and the gateway can resolve, by name. */
export class ToolRegistry {
  private readonly tools = new Map<string, ToolDefinition>();

  constructor(
    tools: ToolDefinition[],
    private readonly lifecycle: ToolLifecycle = {},
  ) {
    for (const tool of tools) this.add(tool);
  }

  private add(tool: ToolDefinition): void {
    if (this.tools.has(tool.name)) throw new Error(`tool "${tool.name}" is registered twice`);
    this.tools.set(tool.name, tool);
  }

  /**
   * Asks every configured MCP server for its tools, checks the configured ones exist, and adds the
   * rest of an `expose: '*'` server's. Call it once at start, before agents are loaded; throws a
   * ToolConfigError (file:line) for a server that does not answer.
   */
  async discover(): Promise<void> {
    for (const tool of (await this.lifecycle.discover?.()) ?? []) if (!this.tools.has(tool.name)) this.add(tool);
  }

  /**
   * Checks what the tools connect to before the worker polls: throws a ToolConfigError (file:line) for
   * a `sql` connection whose role could write or reach the host (unless the connection allows it).
   */
  async check(): Promise<void> {
    await this.lifecycle.check?.();
  }

  /** Closes what the tools hold open (server processes, connection pools). */
  async close(): Promise<void> {
    await this.lifecycle.close?.();
  }

  get(name: string): ToolDefinition | undefined {
    return this.tools.get(name);
  }

  /** The tool's circuit-breaker state: the worst of its targets', `closed` for a tool with no breaker. */
  circuitState(name: string): string {
    return this.lifecycle.circuitState?.(name) ?? 'closed';
  }

  names(): string[] {
    return [...this.tools.keys()].sort();
  }

  /** The execution settings a run carries for this tool. */
  spec(name: string): ToolSpec {
    const tool = this.tools.get(name);
    if (!tool) throw new Error(`unknown tool "${name}"`);
    return {
      name,
      side_effect: tool.side_effect,
      ...(tool.destructive ? { destructive: true } : {}),
      max_classification: tool.max_classification,
      timeout_ms: tool.timeout_ms,
      max_attempts: tool.max_attempts,
    };
  }
}
