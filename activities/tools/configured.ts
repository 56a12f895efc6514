import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../observability/logger';
import { ToolGuards } from './breaker';
import { parseYamlFile, ToolConfigError } from './config-file';
import { ToolsFileSchema, type Connection, type Instance } from './config-schema';
import type { BuildContext } from './adapters/build';
import { createHttpTool } from './adapters/http';
import { createMcpTools } from './mcp/configured';
import { createSqlTool } from './adapters/sql';
import { checkSqlRole } from './adapters/sql-role';
import type { Resolver } from './adapters/ssrf';
import type { ToolDefinition } from './tool';

export interface ConfiguredToolsOptions {
  /** The tools folder: every `*.yaml` in it, in name order. A missing folder configures nothing. */
  dir: string;
  /** `${VAR}` values and secret headers (default: the process environment). */
  vars?: Record<string, string | undefined>;
  /** Where breaker state changes are logged. */
  logger: Pick<Logger, 'warn' | 'info'>;
  /** Replaces DNS for the SSRF guard (tests). */
  resolver?: Resolver;
}

/** The tools of a tools folder: those known from the configuration alone, and the MCP servers' to discover. */
export interface ConfiguredTools {
  tools: ToolDefinition[];
  /** Lists every MCP server's tools (`tools/list`); returns the tools found beyond those configured by name. */
  discover: () => Promise<ToolDefinition[]>;
  /** The worker's start-up checks: each `postgres` connection of a `sql` tool must have a least-privileged role. */
  check: () => Promise<void>;
  /** Closes pools, dispatchers and server processes. */
  close: () => Promise<void>;
  /** The process's breakers and bulkheads of these tools. */
  guards: ToolGuards;
}

type PostgresConnection = Extract<Connection, { postgres: string }>;

/** What the files of a tools folder declare: named connections and the tool instances, each with where it sits. */
interface Folder {
  connections: Map<string, { connection: Connection; where: string }>;
  instances: { instance: Instance; ctx: BuildContext }[];
}

/** Reads every file of the folder; a name (connection or tool) defined twice is an error naming both places. */
function readFolder(options: ConfiguredToolsOptions, guards: ToolGuards, closers: (() => Promise<void>)[]): Folder {
  const { dir, vars = process.env, logger } = options;
  const files = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => /\.ya?ml$/.test(f))
        .sort()
    : [];
  const folder: Folder = { connections: new Map(), instances: [] };
  const names = new Map<string, string>();
  for (const name of files) {
    const file = path.join(dir, name);
    const parsed = parseYamlFile(file, readFileSync(file, 'utf8'), ToolsFileSchema, vars);
    for (const [key, connection] of Object.entries(parsed.data.connections)) {
      const line = parsed.line(['connections', key]);
      const before = folder.connections.get(key);
      if (before) throw new ToolConfigError(file, line, `connection "${key}" is already defined at ${before.where}: rename one`);
      folder.connections.set(key, { connection, where: `${file}:${line}` });
    }
    parsed.data.tools.forEach((instance, i) => {
      const line = parsed.line(['tools', i]);
      const before = names.get(instance.name);
      if (before) throw new ToolConfigError(file, line, `tool "${instance.name}" is already defined at ${before}: rename one`);
      names.set(instance.name, `${file}:${line}`);
      const ctx: BuildContext = { file, line: parsed.line, at: ['tools', i], guards, vars, dir, closers, logger };
      folder.instances.push({ instance, ctx: options.resolver ? { ...ctx, resolver: options.resolver } : ctx });
    });
  }
  return folder;
}

/**
 * Reads and validates a tools folder and builds its tools. Throws {@link ToolConfigError} (file:line
 * and what to do) on the first bad file, unknown adapter kind, unset environment variable, duplicate
 * name or unknown connection. Nothing is contacted here: servers and databases are reached on
 * discover() or on the first call.
 */
export function loadConfiguredTools(options: ConfiguredToolsOptions): ConfiguredTools {
  const { logger } = options;
  const guards = new ToolGuards(logger);
  const closers: (() => Promise<void>)[] = [];
  const discoverers: (() => Promise<ToolDefinition[]>)[] = [];
  const tools: ToolDefinition[] = [];
  const { connections, instances } = readFolder(options, guards, closers);
  const checked = new Map<string, { connection: PostgresConnection; where: string }>();
  for (const { instance, ctx } of instances) {
    if (instance.kind === 'http') tools.push(createHttpTool(instance, ctx));
    else if (instance.kind === 'sql') {
      const found = connections.get(instance.connection);
      if (!found) {
        throw new ToolConfigError(
          ctx.file,
          ctx.line([...ctx.at, 'connection']),
          `unknown connection "${instance.connection}": define it under connections: (known: ${[...connections.keys()].join(', ') || 'none'})`,
        );
      }
      tools.push(createSqlTool(instance, found.connection, instance.connection, ctx));
      if ('postgres' in found.connection) checked.set(instance.connection, { connection: found.connection, where: found.where });
    } else {
      const mcp = createMcpTools(instance, ctx);
      tools.push(...mcp.tools);
      discoverers.push(mcp.discover);
    }
  }
  return {
    tools,
    guards,
    discover: async () => {
      const found: ToolDefinition[] = [];
      for (const discover of discoverers) found.push(...(await discover()));
      return found;
    },
    check: async () => {
      for (const [name, { connection, where }] of checked) {
        const at = where.lastIndexOf(':');
        await checkSqlRole(name, connection, { file: where.slice(0, at), line: Number(where.slice(at + 1)) }, logger);
      }
    },
    close: async () => {
      await Promise.all(closers.map((c) => c()));
    },
  };
}
