import path from 'node:path';
import { z } from 'zod';
import { readYamlFile } from './yaml-file';

/**
 * How many starts a gateway has in flight by default. A healthy start takes tens of milliseconds, so 64
 * holds well over a thousand dispatches a second and a burst of a few dozen concurrent callers (16 shed
 * parts of an ordinary 20-dispatch burst on a loaded 2-core machine); when Temporal stalls, at most 64
 * requests wait out the deadline and the rest are told at once.
 */
export const DEFAULT_STARTS_IN_FLIGHT = 64;

/** The project root: the folder holding package.json, temporal-dev.yaml and agents/. */
export const PROJECT_ROOT = path.resolve(__dirname, path.basename(path.dirname(__dirname)) === 'dist' ? '../..' : '..');

const SearchAttributeTypeSchema = z.enum(['Keyword', 'Text', 'Int', 'Double', 'Bool', 'Datetime', 'KeywordList']);
export type SearchAttributeType = z.infer<typeof SearchAttributeTypeSchema>;

/** A TCP port: a number in the YAML file; digits only in an environment variable ('', ' ', true, 0x10 are not ports). */
const port = z.number().int().min(0).max(65535);
const envPort = z.string().regex(/^\d+$/, 'must be a port number').transform(Number).pipe(port);

const DevFileSchema = z
  .object({
    server: z
      .object({
        ip: z.string().min(1),
        port,
        ui_port: port,
        namespace: z.string().min(1),
        db_file: z.string().min(1),
        log_file: z.string().min(1),
      })
      .strict(),
    search_attributes: z.record(z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/), SearchAttributeTypeSchema),
    task_queue: z.string().min(1),
    gateway: z.object({ host: z.string().min(1), port }).strict(),
  })
  .strict();

const LogLevelSchema = z.enum(['error', 'warn', 'info', 'debug']);

/** Everything the processes of the platform are configured with, validated once at start-up. */
export interface Settings {
  devServer: {
    ip: string;
    port: number;
    uiPort: number;
    namespace: string;
    dbFile: string;
    logFile: string;
  };
  searchAttributes: Record<string, SearchAttributeType>;
  taskQueue: string;
  gateway: { host: string; port: number; publicUrl: string };
  /** How long a stopping gateway lets in-flight requests finish before it closes their connections. */
  gatewayShutdownSeconds: number;
  /** Where operators open a run in the Temporal Web UI; absent when unknown (outside dev, unless set). */
  temporalUiUrl: string | undefined;
  agentsDir: string;
  docsDir: string;
  /** The local ticket store's JSON Lines file (a stand-in for a ticketing system; `ticket_create`). */
  ticketsFile: string;
  /** The knowledge-graph file of the MCP memory server behind `memory_note` (JSON Lines). */
  memoryFile: string;
  log: { level: z.infer<typeof LogLevelSchema>; format: 'json' | 'pretty' };
  /** Gateway credentials: a YAML file of API-key hashes and/or JWT verification settings. */
  auth: {
    apiKeysFile: string | undefined;
    jwt: { secret?: string; jwksUrl?: string; issuer: string; audience: string } | undefined;
  };
  /** Gateway request limits (per minute), tenant run quotas, and how many run starts may wait on Temporal at once. */
  limits: { principalPerMinute: number; tenantPerMinute: number; concurrentRuns: number; runsPerDay: number; startsInFlight: number };
  /** Shared Redis for rate limits across gateway replicas; unset means counters in each process. */
  redis: { url: string | undefined; keyPrefix: string };
  /** Run event streams (docs/events.md): heartbeat comment interval, concurrent watchers per gateway, retention. */
  events: { heartbeatSeconds: number; maxWatchers: number; retentionDays: number };
  /** The environment policies decide for (dev, staging, prod). */
  environment: 'dev' | 'staging' | 'prod';
  policiesDir: string;
  /** The governance store: PostgreSQL at this URL, else the embedded PGlite in pgliteDir. */
  governance: { databaseUrl: string | undefined; pgliteDir: string };
  /** Where tool outputs too large for workflow history are kept. */
  blobDir: string;
  /**
   * The worker's /metrics (host and port; port 0 turns it off) and the Temporal SDK runtime's own
   * Prometheus endpoint, which the worker's /metrics includes.
   */
  workerMetrics: { host: string; port: number; sdkAddress: string };
  /** More environment variables whose values are secrets, hidden from logs, spans and error bodies. */
  secretEnv: string[];
}

/** A configuration problem, reported with the setting that caused it. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

function pick<T>(env: Env, name: string, schema: z.ZodType<T>, fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(`${name}=${JSON.stringify(raw)} is invalid: ${parsed.error.issues[0]?.message ?? 'bad value'}`);
  }
  return parsed.data;
}

/** JWT settings from AUTH_JWT_*; a secret or a JWKS URL needs both issuer and audience. */
function jwtSettings(env: Env): Settings['auth']['jwt'] {
  const secret = env.AUTH_JWT_SECRET || undefined;
  const jwksUrl = pick<string | undefined>(env, 'AUTH_JWT_JWKS_URL', z.url(), undefined);
  if (!secret && !jwksUrl) return undefined;
  if (secret && secret.length < 32) throw new ConfigError('AUTH_JWT_SECRET must be at least 32 characters');
  const issuer = env.AUTH_JWT_ISSUER;
  const audience = env.AUTH_JWT_AUDIENCE;
  if (!issuer) throw new ConfigError('AUTH_JWT_ISSUER is required with AUTH_JWT_SECRET or AUTH_JWT_JWKS_URL');
  if (!audience) throw new ConfigError('AUTH_JWT_AUDIENCE is required with AUTH_JWT_SECRET or AUTH_JWT_JWKS_URL');
  return { ...(secret ? { secret } : {}), ...(jwksUrl ? { jwksUrl } : {}), issuer, audience };
}

const text = z.string().min(1);
const count = z
  .string()
  .regex(/^[1-9][0-9]{0,8}$/, 'must be a positive whole number')
  .transform(Number);

/** Rate limits, quotas and the gateway's cap on starts in flight. */
function limitSettings(env: Env): Settings['limits'] {
  return {
    principalPerMinute: pick(env, 'RATE_LIMIT_PRINCIPAL_PER_MINUTE', count, 120),
    tenantPerMinute: pick(env, 'RATE_LIMIT_TENANT_PER_MINUTE', count, 600),
    concurrentRuns: pick(env, 'QUOTA_CONCURRENT_RUNS', count, 100),
    runsPerDay: pick(env, 'QUOTA_RUNS_PER_DAY', count, 10_000),
    startsInFlight: pick(env, 'GATEWAY_MAX_STARTS_IN_FLIGHT', count, DEFAULT_STARTS_IN_FLIGHT),
  };
}

/** The governance store: PostgreSQL when GOVERNANCE_DATABASE_URL is set, else PGlite in a folder. */
function governanceSettings(env: Env, fromRoot: (p: string) => string): Settings['governance'] {
  return {
    databaseUrl: pick<string | undefined>(
      env,
      'GOVERNANCE_DATABASE_URL',
      z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL'),
      undefined,
    ),
    pgliteDir: fromRoot(pick(env, 'GOVERNANCE_PGLITE_DIR', text, '.data/governance')),
  };
}

/**
 * Reads temporal-dev.yaml and applies environment overrides. Fails fast with a message naming the
 * variable at fault, or the file, line and key.
 */
export function loadSettings(env: Env = process.env, file = path.join(PROJECT_ROOT, 'temporal-dev.yaml')): Settings {
  const f = readYamlFile(file, DevFileSchema, (message) => new ConfigError(message)).data;
  const fromRoot = (p: string) => path.resolve(PROJECT_ROOT, p);

  const gatewayHost = pick(env, 'GATEWAY_HOST', text, f.gateway.host);
  const gatewayPort = pick(env, 'GATEWAY_PORT', envPort, f.gateway.port);
  return {
    devServer: {
      ip: pick(env, 'TEMPORAL_DEV_IP', text, f.server.ip),
      port: pick(env, 'TEMPORAL_DEV_PORT', envPort, f.server.port),
      uiPort: pick(env, 'TEMPORAL_DEV_UI_PORT', envPort, f.server.ui_port),
      namespace: pick(env, 'TEMPORAL_DEV_NAMESPACE', text, f.server.namespace),
      dbFile: fromRoot(pick(env, 'TEMPORAL_DEV_DB_FILE', text, f.server.db_file)),
      logFile: fromRoot(pick(env, 'TEMPORAL_DEV_LOG_FILE', text, f.server.log_file)),
    },
    searchAttributes: f.search_attributes,
    taskQueue: pick(env, 'TEMPORAL_TASK_QUEUE', text, f.task_queue),
    gateway: {
      host: gatewayHost,
      port: gatewayPort,
      publicUrl: pick(env, 'GATEWAY_PUBLIC_URL', z.url(), `http://${gatewayHost}:${gatewayPort}`),
    },
    gatewayShutdownSeconds: pick(env, 'GATEWAY_SHUTDOWN_SECONDS', count, 10),
    temporalUiUrl: pick<string | undefined>(env, 'TEMPORAL_UI_URL', z.url(), undefined),
    agentsDir: fromRoot(pick(env, 'AGENTS_DIR', text, 'agents')),
    docsDir: fromRoot(pick(env, 'DOCS_DIR', text, 'docs')),
    ticketsFile: fromRoot(pick(env, 'TICKETS_FILE', text, '.data/tickets.jsonl')),
    memoryFile: fromRoot(pick(env, 'MCP_MEMORY_FILE', text, '.data/memory.jsonl')),
    auth: {
      apiKeysFile: pick<string | undefined>(env, 'AUTH_API_KEYS_FILE', text, undefined),
      jwt: jwtSettings(env),
    },
    limits: limitSettings(env),
    redis: {
      url: pick<string | undefined>(env, 'REDIS_URL', z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL'), undefined),
      keyPrefix: pick(env, 'REDIS_KEY_PREFIX', text, 'acp:'),
    },
    events: {
      heartbeatSeconds: pick(env, 'EVENTS_HEARTBEAT_SECONDS', count, 15),
      maxWatchers: pick(env, 'EVENTS_MAX_WATCHERS', count, 1000),
      retentionDays: pick(env, 'EVENTS_RETENTION_DAYS', count, 7),
    },
    environment: pick(env, 'PLATFORM_ENV', z.enum(['dev', 'staging', 'prod']), 'dev'),
    policiesDir: fromRoot(pick(env, 'POLICIES_DIR', text, 'policies')),
    governance: governanceSettings(env, fromRoot),
    blobDir: fromRoot(pick(env, 'BLOB_DIR', text, '.data/blobs')),
    workerMetrics: {
      host: pick(env, 'WORKER_METRICS_HOST', text, gatewayHost),
      port: pick(env, 'WORKER_METRICS_PORT', envPort, 9464),
      sdkAddress: pick(env, 'TEMPORAL_SDK_METRICS_ADDRESS', z.string().regex(/^[^\s:]+:\d+$/, 'must be host:port'), '127.0.0.1:9465'),
    },
    secretEnv: pick(
      env,
      'REDACT_ENV',
      z.string().transform((v) =>
        v
          .split(',')
          .map((n) => n.trim())
          .filter(Boolean),
      ),
      [],
    ),
    log: {
      level: pick(env, 'LOG_LEVEL', LogLevelSchema, 'info'),
      format: pick(env, 'LOG_FORMAT', z.enum(['json', 'pretty']), 'json'),
    },
  };
}
