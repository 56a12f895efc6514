// The `mcp` adapter: a configured MCP server instance (tools/*.yaml) turned into platform tools named
// `<instance>.<tool>`, with schemas discovered from the server's tools/list.
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import type { SideEffect } from '../../../contracts/agent';
import { ErrorCode } from '../../../contracts/errors';
import { describeIssues } from '../../../shared/errors';
import { guarded } from '../breaker';
import { ToolConfigError } from '../config-file';
import type { McpInstance } from '../config-schema';
import type { ToolContext, ToolDefinition } from '../tool';
import { secretHeaders, type BuildContext } from '../adapters/build';
import { mcpServer } from './client-pool';
import { resultText, type McpServerConnection, type McpServerSpec } from './connection';
import { ANY_ARGS, discovered, invalidName, sideEffectOf, type Discovered } from './schemas';

export { sideEffectOf } from './schemas';

/** One configured instance while its tools are built: its server and what the server listed so far. */
interface Instance {
  instance: McpInstance;
  ctx: BuildContext;
  server: McpServerConnection;
  found: Map<string, Discovered>;
  discover: () => Promise<ToolDefinition[]>;
}

/** How an instance settles one of its tools: from `expose`, or from the server's annotations. */
interface ToolSettings {
  side_effect: SideEffect;
  destructive?: boolean;
  max_classification: ToolDefinition['max_classification'];
  description?: string;
}

/** The server spec of an instance; a package that is not installed is a configuration error on its line. */
function serverOf(instance: McpInstance, ctx: BuildContext): McpServerConnection {
  const where = (key: string) => ctx.line([...ctx.at, ...key.split('.')]);
  const common = { name: instance.name, serial: instance.serial, connect_timeout_ms: instance.connect_timeout_ms };
  let spec: McpServerSpec;
  if (instance.http) {
    const headers = {
      ...instance.http.headers,
      ...secretHeaders({ ...ctx, at: [...ctx.at, 'http'] }, 'secret_headers', instance.http.secret_headers),
    };
    spec = { ...common, url: instance.http.url, headers };
  } else {
    const s = instance.stdio!;
    spec = {
      ...common,
      ...(s.package ? { package: s.package } : { command: s.command! }),
      ...(s.bin ? { bin: s.bin } : {}),
      args: s.args,
      env: s.env,
      ...(s.cwd ? { cwd: s.cwd } : {}),
    };
  }
  try {
    return mcpServer(spec);
  } catch (err) {
    throw new ToolConfigError(ctx.file, where(instance.http ? 'http' : 'stdio.package'), (err as Error).message);
  }
}

/** One call of a server's tool: its listed schema checks the arguments before anything is sent. */
async function callListed(at: Instance, tool: string, args: unknown, tctx: ToolContext) {
  const { instance, server, found } = at;
  if (!found.has(tool)) await at.discover();
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
      message: `arguments for ${instance.name}.${tool} are invalid: ${describeIssues(checked.error)}`,
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
    evidence: [{ source: `mcp:${instance.name}/${tool}`, excerpt: (text || JSON.stringify(result.structuredContent ?? {})).slice(0, 500) }],
  };
}

/** The platform tool for one tool of the server; its description and schemas are the server's once listed. */
function defineListed(at: Instance, tool: string, settings: ToolSettings): ToolDefinition {
  const { instance, ctx, found } = at;
  const def: ToolDefinition = {
    name: `${instance.name}.${tool}`,
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
    execute: (args, tctx) => callListed(at, tool, args, tctx),
  };
  return guarded(def, ctx.guards, instance, () => instance.name, instance.name);
}

/** The tools named under `expose`: they exist from the configuration alone, so agents can name them. */
function declaredTools(at: Instance): ToolDefinition[] {
  const { instance, ctx } = at;
  if (instance.expose === '*') return [];
  return Object.entries(instance.expose).map(([tool, settings]) => {
    if (invalidName(instance.name, tool)) {
      throw new ToolConfigError(
        ctx.file,
        ctx.line([...ctx.at, 'expose', tool]),
        `tool name ${instance.name}.${tool} is not a valid platform tool name (lower-case letters, digits, - or _)`,
      );
    }
    return defineListed(at, tool, settings);
  });
}

/** Asks the server for its tools (tools/list) and remembers each one's schemas. */
async function list(at: Instance): Promise<void> {
  const { instance, ctx, server, found } = at;
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
  for (const t of tools) found.set(t.name, discovered(t));
}

/**
 * After a listing: an instance with `expose` must find each of its tools (none is added); one with
 * `expose: '*'` gets every listed tool whose name is a valid platform tool name.
 */
function listedTools(at: Instance): ToolDefinition[] {
  const { instance, ctx, found } = at;
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
  const refused: { tool: string; why: string }[] = [];
  for (const [tool, known] of found) {
    const why = invalidName(instance.name, tool);
    if (why) refused.push({ tool, why });
    else exposed.push(defineListed(at, tool, { ...sideEffectOf(known.annotations), max_classification: 'internal' }));
  }
  // Not an error: the server's other tools still work, but an agent naming a left-out tool should not be a mystery.
  if (refused.length)
    ctx.logger.warn(
      `MCP server ${instance.name}: tools left out, their names are not valid platform tool names: ${refused.map((r) => `${JSON.stringify(r.tool)} (${r.why})`).join('; ')}`,
      { server: instance.name, tools: refused.map((r) => r.tool) },
    );
  return exposed;
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
  let listing: Promise<ToolDefinition[]> | undefined;
  const at: Instance = {
    instance,
    ctx,
    server,
    found: new Map(),
    discover: () => {
      listing ??= list(at).then(() => listedTools(at));
      // A failed listing is tried again on the next call, not remembered.
      void listing.catch(() => (listing = undefined));
      return listing;
    },
  };
  return { tools: declaredTools(at), discover: at.discover };
}
