import type { ToolSpec } from '../../contracts/agent';
import type { ToolDefinition } from './tool';

/** The tools a worker can run and the gateway can resolve, by name. */
export class ToolRegistry {
  private readonly tools = new Map<string, ToolDefinition>();

  constructor(tools: ToolDefinition[]) {
    for (const tool of tools) {
      if (this.tools.has(tool.name)) throw new Error(`tool "${tool.name}" is registered twice`);
      this.tools.set(tool.name, tool);
    }
  }

  get(name: string): ToolDefinition | undefined {
    return this.tools.get(name);
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
      max_classification: tool.max_classification,
      timeout_ms: tool.timeout_ms,
      max_attempts: tool.max_attempts,
    };
  }
}
