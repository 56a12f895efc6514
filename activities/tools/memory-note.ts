import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { mcpServer } from './mcp/client-pool';
import type { McpServerConnection, McpServerSpec } from './mcp/connection';
import { defineMcpTool } from './mcp/tool';
import { LOCAL_WRITE_TOOL, type ToolDefinition } from './tool';

/** The npm package of the knowledge-graph MCP server behind `memory_note`. */
export const MEMORY_SERVER_PACKAGE = '@modelcontextprotocol/server-memory';

/**
 * The spec of `@modelcontextprotocol/server-memory` keeping its knowledge graph in `file` (JSON
 * Lines: one entity or relation a line). One call at a time: the server reads, changes and rewrites
 * the whole file on each call.
 */
export function memoryServerSpec(file: string): McpServerSpec {
  return { name: 'memory', package: MEMORY_SERVER_PACKAGE, env: { MEMORY_FILE_PATH: path.resolve(file) }, serial: true };
}

const Input = z
  .object({
    /** The entity the observation is about (a customer, a host, a service). */
    entity: z.string().trim().min(1).max(200),
    entity_type: z.string().trim().min(1).max(100).default('note'),
    observation: z.string().trim().min(1).max(2000),
  })
  .strict();

const Output = z
  .object({
    entity: z.string(),
    /** false when the entity was already in the graph. */
    entity_created: z.boolean(),
    /** false when the entity already had this exact observation (a retry, or a repeated fact): nothing new was written. */
    observation_added: z.boolean(),
  })
  .strict();

// What the server returns as structuredContent (unknown keys are dropped).
const CreateEntitiesResult = z.object({ entities: z.array(z.object({ name: z.string() })) });
const AddObservationsResult = z.object({
  results: z.array(z.object({ entityName: z.string(), addedObservations: z.array(z.string()) })),
});

/**
 * `memory_note`: records an observation about an entity in a knowledge graph held by a real MCP
 * server, `@modelcontextprotocol/server-memory`, spawned by the worker on first use (see `mcp/connection.ts`).
 * Two server calls: `create_entities` (a no-op for an entity already there), then
 * `add_observations`.
 *
 * Idempotent: the server keeps an observation once per entity, so a retried step adds nothing and
 * returns `observation_added: false`. Cleared for `internal` data: the policy keeps confidential and
 * restricted context fields away from it.
 *
 * Why it stays a TypeScript tool beside the configured `memory` instance (tools/knowledge.yaml): it is
 * one governed step made of two server calls (entity, then observation), which configuration cannot
 * compose; a model given only `memory.create_entities` and `memory.add_observations` needs two tool
 * steps for one fact. Both reach the same server process (`mcpServer` pools by spec), so the facts
 * `memory_note` writes are the ones `memory.search_nodes` and `memory.open_nodes` read.
 */
export function createMemoryNoteTool(file: string, server: McpServerConnection = mcpServer(memoryServerSpec(file))): ToolDefinition {
  const dir = path.dirname(path.resolve(file));
  return defineMcpTool<z.infer<typeof Input>, z.infer<typeof Output>>({
    name: 'memory_note',
    description:
      'Record an observation (a fact) about an entity (entity, entity_type, observation) in the knowledge graph of an MCP memory server. Idempotent: an observation is kept once per entity.',
    input: Input,
    output: Output,
    ...LOCAL_WRITE_TOOL,
    server,
    async execute({ entity, entity_type, observation }, ctx, call) {
      ctx.signal.throwIfAborted();
      // The server writes a temporary file next to its graph and renames it: the folder must exist.
      await mkdir(dir, { recursive: true });
      const created = CreateEntitiesResult.parse(
        (await call('create_entities', { entities: [{ name: entity, entityType: entity_type, observations: [] }] })).structuredContent,
      );
      ctx.signal.throwIfAborted();
      const added = AddObservationsResult.parse(
        (await call('add_observations', { observations: [{ entityName: entity, contents: [observation] }] })).structuredContent,
      );
      const mine = added.results.find((r) => r.entityName === entity);
      return {
        output: {
          entity,
          entity_created: created.entities.some((e) => e.name === entity),
          observation_added: (mine?.addedObservations ?? []).includes(observation),
        },
        evidence: [{ source: `memory:${entity}`, excerpt: observation }],
      };
    },
  });
}
