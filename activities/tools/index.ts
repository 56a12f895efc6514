import { createDocsSearchTool } from './docs-search';
import { ToolRegistry } from './registry';
import { createTicketCreateTool } from './ticket-create';
import { FileTicketStore } from './ticket-store';

export interface ToolSettings {
  docsDir: string;
  /** The JSON Lines file of the local ticket store (a stand-in for a ticketing system). */
  ticketsFile: string;
}

/** Every tool this deployment offers. Worker and gateway build the same registry. */
export function createToolRegistry(settings: ToolSettings): ToolRegistry {
  return new ToolRegistry([createDocsSearchTool(settings.docsDir), createTicketCreateTool(new FileTicketStore(settings.ticketsFile))]);
}
