import { z } from 'zod';
import { SideEffectSchema } from '../../contracts/agent';
import { CLASSIFICATIONS } from './tool';

/** The built-in adapter kinds a configured tool instance can be. */
export const ADAPTER_KINDS = ['http', 'sql', 'mcp'] as const;

const Name = z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, 'must be lower-case letters, digits, - or _, starting with a letter');
const JsonSchema = z.record(z.string(), z.unknown());
/** A cap in bytes on what a call returns: at least `min`, at most 64 MiB, 1 MiB unless set. */
const byteLimit = (min: number) =>
  z
    .number()
    .int()
    .min(min)
    .max(64 * 1024 * 1024)
    .default(1024 * 1024);
/** A header whose value is a secret: read from an environment variable at start, never written in YAML. */
const SecretHeader = z.object({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), prefix: z.string().default('') }).strict();

export const BreakerSchema = z
  .object({
    /** Consecutive failed calls (timeouts, 5xx, connection errors) that open the breaker. */
    consecutive_failures: z.number().int().min(1).max(1000).default(5),
    /** How long it stays open before one trial call is let through (half-open). */
    half_open_after_ms: z.number().int().min(10).max(3_600_000).default(30_000),
  })
  .strict();

/** Settings every instance has, whatever its kind. */
const common = {
  name: Name,
  description: z.string().min(1),
  side_effect: SideEffectSchema,
  max_classification: z.enum(CLASSIFICATIONS).default('internal'),
  timeout_ms: z.number().int().min(10).max(600_000).default(10_000),
  max_attempts: z.number().int().min(1).max(10).default(3),
  breaker: BreakerSchema.default({ consecutive_failures: 5, half_open_after_ms: 30_000 }),
  /** Calls of this instance that may run at once in one worker (a bulkhead); more wait in a queue. */
  concurrency: z.number().int().min(1).max(1000).default(8),
  /** Calls that may wait for a slot; beyond that a call fails at once (retryable). */
  queue: z.number().int().min(0).max(10_000).default(32),
};

export const HttpInstanceSchema = z
  .object({
    ...common,
    kind: z.literal('http'),
    method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']),
    /** `{arg}` placeholders take (URL-encoded) arguments; other arguments go to the query (GET, HEAD, DELETE) or the JSON body. */
    url: z.url({ protocol: /^https?$/ }),
    headers: z.record(z.string(), z.string()).default({}),
    secret_headers: z.record(z.string(), SecretHeader).default({}),
    /** JSON Schema of the arguments. */
    input_schema: JsonSchema,
    /** JSON Schema of the parsed response body (default: anything). */
    output_schema: JsonSchema.default({}),
    response: z.enum(['json', 'text']).default('json'),
    /** Hosts the URL and every redirect may reach (default: the URL's own host). */
    allow_hosts: z.array(z.string().min(1)).optional(),
    /** Hosts allowed to resolve to loopback, private, link-local or other non-public addresses. */
    allow_private_hosts: z.array(z.string().min(1)).default([]),
    max_redirects: z.number().int().min(0).max(10).default(3),
    max_response_bytes: byteLimit(1),
  })
  .strict();

export const SqlInstanceSchema = z
  .object({
    ...common,
    kind: z.literal('sql'),
    side_effect: z.literal('read', { error: 'sql tools are read-only: side_effect must be read' }),
    /** A connection under `connections:` in any tools file. */
    connection: Name,
    /** The fixed query; `$1`, `$2`… take the arguments named in `params`, in order. */
    query: z.string().min(1).optional(),
    params: z.array(z.string().min(1)).default([]),
    /** Instead of `query`: the caller sends `sql`, which must parse as one SELECT. */
    allow_select: z.boolean().default(false),
    input_schema: JsonSchema.optional(),
    max_rows: z.number().int().min(1).max(10_000).default(100),
    /** The most bytes of rows (as JSON) a call returns: rows past it are dropped (`truncated`), by the database itself. */
    max_bytes: byteLimit(1024),
  })
  .strict()
  .refine((i) => (i.query === undefined) === i.allow_select, {
    message: 'give either a fixed `query` or `allow_select: true`, not both or neither',
    path: ['query'],
  })
  .refine((i) => i.allow_select || i.input_schema, {
    message: 'a fixed query needs an input_schema for its params',
    path: ['input_schema'],
  });

const ExposedTool = z
  .object({
    side_effect: SideEffectSchema.default('write'),
    max_classification: z.enum(CLASSIFICATIONS).default('internal'),
    /** Replaces the server's description of the tool. */
    description: z.string().min(1).optional(),
  })
  .strict();

export const McpInstanceSchema = z
  .object({
    name: Name,
    kind: z.literal('mcp'),
    description: z.string().min(1).optional(),
    /** A server run by the worker over stdio: an npm package from node_modules, or a command. */
    stdio: z
      .object({
        package: z.string().min(1).optional(),
        bin: z.string().min(1).optional(),
        command: z.string().min(1).optional(),
        args: z.array(z.string()).default([]),
        env: z.record(z.string(), z.string()).default({}),
        cwd: z.string().optional(),
      })
      .strict()
      .refine((s) => (s.package === undefined) !== (s.command === undefined), { message: 'give either package or command' })
      .optional(),
    /** A server reached over streamable HTTP. */
    http: z
      .object({
        url: z.url({ protocol: /^https?$/ }),
        headers: z.record(z.string(), z.string()).default({}),
        secret_headers: z.record(z.string(), SecretHeader).default({}),
      })
      .strict()
      .optional(),
    /** Send one call at a time (for servers that rewrite a file per call, such as server-memory). */
    serial: z.boolean().default(false),
    /** The server's tools this instance offers, by the server's name, each `<instance>.<tool>`; `'*'` offers all (write, internal). */
    expose: z.union([
      z.literal('*'),
      z.record(z.string().min(1), ExposedTool.default({ side_effect: 'write', max_classification: 'internal' })),
    ]),
    timeout_ms: common.timeout_ms,
    max_attempts: common.max_attempts,
    breaker: common.breaker,
    concurrency: common.concurrency,
    queue: common.queue,
    /**
     * How long starting the server and its tools/list may take. Generous: it bounds a worker's start, not
     * a run, and a node server on a loaded 2-core machine took over 10 s to answer once.
     */
    connect_timeout_ms: z.number().int().min(100).max(120_000).default(30_000),
  })
  .strict()
  .refine((i) => (i.stdio === undefined) !== (i.http === undefined), { message: 'give either stdio or http', path: ['stdio'] });

export const InstanceSchema = z.discriminatedUnion('kind', [HttpInstanceSchema, SqlInstanceSchema, McpInstanceSchema], {
  error: (issue) =>
    issue.code === 'invalid_union'
      ? `unknown adapter kind ${JSON.stringify((issue.input as { kind?: unknown } | undefined)?.kind)}: use one of ${ADAPTER_KINDS.join(', ')}, or write a TypeScript tool (docs/how-to-write-a-tool.md)`
      : undefined,
});

export const ConnectionSchema = z.union([
  z
    .object({
      postgres: z.string().min(1),
      search_path: z
        .string()
        .regex(/^[a-z_][a-z0-9_]*$/)
        .optional(),
      max_connections: z.number().int().min(1).max(100).default(4),
      /**
       * The worker refuses to start when this connection's role is a superuser, has host access or can
       * write a table it reads (docs/how-to-write-a-tool.md); true turns the refusal into a loud warning.
       */
      allow_privileged_role: z.boolean().default(false),
    })
    .strict(),
  /** The embedded PGlite: a folder, or `memory://`; `seed` is a SQL file (relative to the tools folder) run when it opens. */
  z.object({ pglite: z.string().min(1), seed: z.string().min(1).optional() }).strict(),
]);

/** One file of the tools folder. */
export const ToolsFileSchema = z
  .object({
    connections: z.record(Name, ConnectionSchema).default({}),
    tools: z.array(InstanceSchema).default([]),
  })
  .strict();

export type HttpInstance = z.infer<typeof HttpInstanceSchema>;
export type SqlInstance = z.infer<typeof SqlInstanceSchema>;
export type McpInstance = z.infer<typeof McpInstanceSchema>;
export type Instance = z.infer<typeof InstanceSchema>;
export type Connection = z.infer<typeof ConnectionSchema>;
export type BreakerSettings = z.infer<typeof BreakerSchema>;
