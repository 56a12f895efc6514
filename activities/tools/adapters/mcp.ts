import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { NameSchema } from '../../../contracts/agent';
import { ErrorCode } from '../../../contracts/errors';
import { guarded } from '../breaker';
import { ToolConfigError } from '../config-file';
import type { McpInstance } from '../config-schema';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { mcpServer, resultText, type McpServerConnection, type McpServerSpec } from '../mcp';
import type { ToolDefinition } from '../tool';
import { secretHeaders, type BuildContext } from './build';

interface Discovered {
  description: string;
  input: z.ZodType;
  output: z.ZodType;
  annotations: Tool['annotations'];
}

const ANY_ARGS = z.record(z.string(), z.unknown());

function describe(issues: z.core.$ZodIssue[]): string {
  return issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

/**
 * The side effect of a tool of an `expose: '*'` server, from the server's annotations as the MCP
 * specification defines them: `readOnlyHint: true` is a read, anything else a write; a write is
 * destructive unless the server says `destructiveHint: false` (the specification's default is true).
 * The hints are the server's word, not a guarantee: list a tool under `expose` to decide yourself.
 */
export function sideEffectOf(annotations: Tool['annotations']): { side_effect: 'read' | 'write'; destructive: boolean } {
  if (annotations?.readOnlyHint === true) return { side_effect: 'read', destructive: false };
  return { side_effect: 'write', destructive: annotations?.destructiveHint !== false };
}

/** Why a tool name of a server cannot be a platform tool name, or undefined when it can. */
function invalidName(instance: string, tool: string): string | undefined {
  const checked = NameSchema.safeParse(`${instance}.${tool}`);
  return checked.success ? undefined : (checked.error.issues[0]?.message ?? 'not a valid tool name');
}

/** The server spec of an instance; a package that is not installed is a configuration error on its line. */
function serverOf(instance: McpInstance, ctx: BuildContext): McpServerConnection {
  const where = (key: string) => ctx.line([...ctx.at, ...key.split('.')]);
  let spec: McpServerSpec;
  if (instance.http) {
    const headers = {
      ...instance.http.headers,
      ...secretHeaders({ ...ctx, at: [...ctx.at, 'http'] }, 'secret_headers', instance.http.secret_headers),
    };
    spec = {
      name: instance.name,
      url: instance.http.url,
      headers,
      serial: instance.serial,
      connect_timeout_ms: instance.connect_timeout_ms,
    };
  } else {
    const s = instance.stdio!;
    spec = {
      name: instance.name,
      ...(s.package ? { package: s.package } : { command: s.command! }),
      ...(s.bin ? { bin: s.bin } : {}),
      args: s.args,
      env: s.env,
      ...(s.cwd ? { cwd: s.cwd } : {}),
      serial: instance.serial,
      connect_timeout_ms: instance.connect_timeout_ms,
    };
  }
  try {
    return mcpServer(spec);
  } catch (err) {
    throw new ToolConfigError(ctx.file, where(instance.http ? 'http' : 'stdio.package'), (err as Error).message);
  }
}

/**
 * Turns one configured `mcp` instance into tools named `<instance>.<tool>`. Tools listed in `expose`
 * exist from the configuration alone (so agents can name them); their schemas come from the server's
 * `tools/list`, fetched by `discover()` at worker start, or before the first call at the latest, and
 * arguments are checked against them before anything is sent. With `expose: '*'`, discover() returns
 * every tool the server lists.
 */
export function createMcpTools(
  instance: McpInstance,
  ctx: BuildContext,
): { tools: ToolDefinition[]; discover: () => Promise<ToolDefinition[]> } {
  const server = serverOf(instance, ctx);
  ctx.closers.push(() => server.close());
  const found = new Map<string, Discovered>();
  let listing: Promise<ToolDefinition[]> | undefined;

  const define = (
    tool: string,
    settings: {
      side_effect: 'read' | 'write';
      destructive?: boolean;
      max_classification: ToolDefinition['max_classification'];
      description?: string;
    },
  ): ToolDefinition => {
    const name = `${instance.name}.${tool}`;
    const def: ToolDefinition = {
      name,
      kind: 'mcp',
      get description() {
        return settings.description ?? found.get(tool)?.description ?? `Tool ${tool} of the MCP server ${instance.name}.`;
      },
      get input() {
        return found.get(tool)?.input ?? ANY_ARGS;
      },
      get output() {
        return found.get(tool)?.output ?? z.unknown();
      },
      side_effect: settings.side_effect,
      ...(settings.destructive ? { destructive: true } : {}),
      max_classification: settings.max_classification,
      timeout_ms: instance.timeout_ms,
      max_attempts: instance.max_attempts,
      async execute(args, tctx) {
        if (!found.has(tool)) await discover();
        const known = found.get(tool);
        if (!known)
          throw ApplicationFailure.create({
            type: ErrorCode.ToolNotFound,
            message: `MCP server ${instance.name} has no tool ${tool}`,
            nonRetryable: true,
          });
        const checked = known.input.safeParse(args);
        if (!checked.success) {
          throw ApplicationFailure.create({
            type: ErrorCode.ToolInputInvalid,
            message: `arguments for ${name} are invalid: ${describe(checked.error.issues)}`,
            nonRetryable: true,
          });
        }
        const result = await server.callTool(tool, checked.data as Record<string, unknown>, {
          signal: tctx.signal,
          timeoutMs: instance.timeout_ms,
        });
        const text = resultText(result);
        return {
          output: result.structuredContent ?? { text },
          evidence: [
            { source: `mcp:${instance.name}/${tool}`, excerpt: (text || JSON.stringify(result.structuredContent ?? {})).slice(0, 500) },
          ],
        };
      },
    };
    return guarded(def, ctx.guards, instance, () => instance.name, instance.name);
  };

  const declared =
    instance.expose === '*'
      ? []
      : Object.entries(instance.expose).map(([tool, settings]) => {
          if (!NameSchema.safeParse(`${instance.name}.${tool}`).success) {
            throw new ToolConfigError(
              ctx.file,
              ctx.line([...ctx.at, 'expose', tool]),
              `tool name ${instance.name}.${tool} is not a valid platform tool name (lower-case letters, digits, - or _)`,
            );
          }
          return define(tool, settings);
        });

  const discover = (): Promise<ToolDefinition[]> => {
    listing ??= (async () => {
      let tools;
      try {
        tools = await server.listTools(instance.connect_timeout_ms);
      } catch (err) {
        throw new ToolConfigError(
          ctx.file,
          ctx.line(ctx.at),
          `MCP server ${instance.name} did not answer tools/list: ${(err as Error).message}. Check its ${instance.http ? 'http.url (is the server up?)' : 'stdio settings'}, or remove the instance`,
        );
      }
      for (const t of tools) {
        let input: z.ZodType;
        let output: z.ZodType;
        try {
          input = z.fromJSONSchema(t.inputSchema as never);
          output = t.outputSchema ? z.fromJSONSchema(t.outputSchema as never) : z.unknown();
        } catch {
          input = ANY_ARGS;
          output = z.unknown();
        }
        found.set(t.name, { description: t.description ?? t.title ?? t.name, input, output, annotations: t.annotations });
      }
      if (instance.expose !== '*') {
        const missing = Object.keys(instance.expose).filter((t) => !found.has(t));
        if (missing.length) {
          throw new ToolConfigError(
            ctx.file,
            ctx.line([...ctx.at, 'expose', missing[0]!]),
            `MCP server ${instance.name} has no tool ${missing.join(', ')} (it has: ${[...found.keys()].join(', ')})`,
          );
        }
        return [];
      }
      const exposed: ToolDefinition[] = [];
      const refused: string[] = [];
      for (const [t, known] of found) {
        const why = invalidName(instance.name, t);
        if (why) refused.push(`${JSON.stringify(t)} (${why})`);
        else exposed.push(define(t, { ...sideEffectOf(known.annotations), max_classification: 'internal' }));
      }
      // Not an error: the server's other tools still work, but an agent naming a left-out tool should not be a mystery.
      if (refused.length)
        ctx.logger.warn(
          `MCP server ${instance.name}: tools left out, their names are not valid platform tool names: ${refused.join('; ')}`,
          {
            server: instance.name,
            tools: [...found.keys()].filter((t) => invalidName(instance.name, t)),
          },
        );
      return exposed;
    })();
    // A failed listing is tried again on the next call, not remembered.
    void listing.catch(() => (listing = undefined));
    return listing;
  };

  return { tools: declared, discover };
}
