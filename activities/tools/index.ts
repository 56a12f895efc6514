import { createDocsSearchTool } from './docs-search';
import { ToolRegistry } from './registry';

export interface ToolSettings {
  docsDir: string;
}

/** Every tool this deployment offers. Worker and gateway build the same registry. */
export function createToolRegistry(settings: ToolSettings): ToolRegistry {
  return new ToolRegistry([createDocsSearchTool(settings.docsDir)]);
}
