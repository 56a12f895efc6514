import { createServer } from 'node:http';
import { Connection, Client } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { NativeConnection } from '@temporalio/worker';
import { FileBlobStore } from '../activities/blob-store';
import { createModelProviders } from '../activities/model';
import type { ModelProvider } from '../activities/model/provider';
import { closeTools, createToolRegistry } from '../activities/tools';
import { AgentRegistry } from '../agents/registry';
import { checkAgentModels, loadModelConfig } from '../config/models';
import type { Settings } from '../config/settings';
import { createLogger, type Logger } from '../observability/logger';
import { WorkerMetrics } from '../observability/metrics';
import { serveMetrics } from '../observability/metrics-server';
import { addProcessSecrets, secretEnvValues } from '../observability/redact';
import { temporalClientInterceptors } from '../observability/tracing';
import { createWorker } from '../worker/worker';
import { createApp } from '../gateway/app';
import { gatewayConnectionOptions } from '../gateway/deps';
import { PolicyAuthorizer } from '../gateway/policy-authorizer';
import { ReloadablePolicy } from '../policies/reloadable';
import { openGovernanceStore } from '../governance/open';
import { runEventsOf } from '../governance/events';
import { keepRunEvents } from './run-events-upkeep';
import type { GovernanceStore } from '../governance/store';
import { Authenticator, type ApiKeyEntry } from '../gateway/auth';
import { authSettings } from '../gateway/auth-config';
import { MemoryRateLimiter, RedisRateLimiter } from '../gateway/rate-limit';
import { Redis } from 'ioredis';
import { drainable } from './http-drain';
import { connecting } from './startup-errors';

/** Where a process connects: Temporal's own env conventions outside dev, the dev server in dev. */
export interface TemporalTarget {
  address: string;
  namespace: string;
  connectionOptions: Parameters<typeof Connection.connect>[0];
}

/** Reads TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_* (and the CLI's config file). */
export function temporalFromEnvironment(): TemporalTarget {
  const { connectionOptions, namespace } = loadClientConnectConfig();
  const address = connectionOptions.address ?? 'localhost:7233';
  return { address, namespace: namespace ?? 'default', connectionOptions: { ...connectionOptions, address } };
}

/** The process logger: JSON, or pretty lines for a terminal when LOG_FORMAT is unset in dev. */
export function processLogger(settings: Settings, service: string): Logger {
  // The configured secrets are hidden from every log line, span and error body of the process.
  addProcessSecrets(secretEnvValues(process.env, settings.secretEnv));
  return createLogger({ level: settings.log.level, format: settings.log.format, defaults: { service } });
}

/**
 * Loads tools, agents and the policy, failing start-up with a message naming the bad file. The policy
 * is the live holder: the gateway reloads it (POST /v1/policy/reload, SIGHUP) against this same catalog.
 */
export function loadCatalog(settings: Settings, tools = createToolRegistry(settings)) {
  const agents = AgentRegistry.load(settings.agentsDir, tools);
  const policy = ReloadablePolicy.load(settings.policiesDir, { agents: agents.list().map((a) => a.name), tools: tools.names() });
  return { tools, agents, policy };
}

/**
 * The model providers this worker offers, after checking that every agent's model can be called here
 * (its key variable is set, its endpoint configured): a missing key fails the worker's start, naming it.
 */
export function modelProviders(settings: Settings, agents: ReturnType<typeof loadCatalog>['agents']): ModelProvider[] {
  const models = loadModelConfig(process.env, settings.agentsDir);
  checkAgentModels(
    agents.refs().map((ref) => agents.resolve(ref).definition),
    models,
  );
  return createModelProviders(models);
}

/**
 * Connects and builds a worker for the task queue; run it with `worker.run()`. The worker writes tenant
 * budgets and runs' audit rows to the governance store: `governance` when the caller already has it
 * open (npm run dev shares one with the gateway), else the one the settings name.
 */
export async function startWorker(settings: Settings, target: TemporalTarget, governance?: GovernanceStore, logger?: Logger) {
  // MCP servers are asked for their tools before anything polls: one that does not answer stops the start.
  const tools = createToolRegistry(settings);
  await tools.discover();
  // A sql connection whose role could write or reach the host stops the start (docs/how-to-write-a-tool.md).
  await tools.check();
  const { agents } = loadCatalog(settings, tools);
  const providers = modelProviders(settings, agents);
  const store = governance ?? (await openGovernanceStore(settings, { applicationName: 'acp-worker', ...(logger ? { logger } : {}) }));
  const connection = await connecting(
    temporalDependency(target),
    () => NativeConnection.connect(target.connectionOptions as Parameters<typeof NativeConnection.connect>[0]),
    CONNECT_TIMEOUT_MS,
  );
  const metrics = new WorkerMetrics();
  const worker = await connecting(temporalDependency(target), () =>
    createWorker({
      connection,
      namespace: target.namespace,
      taskQueue: settings.taskQueue,
      providers,
      tools,
      blobs: new FileBlobStore(settings.blobDir),
      governance: store,
      metrics,
      runEvents: runEventsOf(store),
    }),
  );
  // The worker's own /metrics port: its runs, steps, model and tool calls, and the SDK's worker metrics.
  const metricsServer =
    settings.workerMetrics.port === 0
      ? undefined
      : await serveMetrics({
          host: settings.workerMetrics.host,
          port: settings.workerMetrics.port,
          registry: metrics.registry,
          sdkMetricsAddress: settings.workerMetrics.sdkAddress,
        });
  if (metricsServer) logger?.info('worker metrics listening', { url: metricsServer.url });
  // The store is closed by whoever opened it.
  const close = async () => {
    await metricsServer?.close();
    await connection.close();
    await tools.close();
    await closeTools();
    if (!governance) await store.close();
  };
  return { worker, connection, close };
}

/** Connects a client and starts the gateway listening; `close()` stops accepting and drains. */
export async function startGateway(
  settings: Settings,
  target: TemporalTarget,
  logger: Logger,
  temporalUiUrl?: string,
  extraKeys: ApiKeyEntry[] = [],
  /** A governance store the caller has open (npm run dev shares one with the worker); else the settings'. */
  governance?: GovernanceStore,
) {
  const registry = createToolRegistry(settings);
  await registry.discover();
  const { agents, tools, policy } = loadCatalog(settings, registry);
  const authenticator = new Authenticator(authSettings(settings, extraKeys));
  const store = governance ?? (await openGovernanceStore(settings, { applicationName: 'acp-gateway', logger }));
  // With several gateway replicas, REDIS_URL makes them share one set of rate-limit buckets.
  const redis = settings.redis.url ? await connectRedis(settings.redis.url, logger) : undefined;
  const connection = await connecting(
    temporalDependency(target),
    () => Connection.connect(gatewayConnectionOptions(target.connectionOptions)),
    CONNECT_TIMEOUT_MS,
  );
  const client = new Client({ connection, namespace: target.namespace, interceptors: temporalClientInterceptors() });
  const app = createApp({
    client,
    agents,
    tools,
    taskQueue: settings.taskQueue,
    logger,
    temporalUiUrl,
    authenticate: (req) => authenticator.authenticate(req),
    authorizer: new PolicyAuthorizer(policy, settings.environment),
    audit: store,
    runEvents: runEventsOf(store),
    events: settings.events,
    policy,
    environment: settings.environment,
    rateLimits: {
      limiter: redis ? new RedisRateLimiter(redis, settings.redis.keyPrefix) : new MemoryRateLimiter(),
      principalPerMinute: settings.limits.principalPerMinute,
      tenantPerMinute: settings.limits.tenantPerMinute,
    },
    quotas: { concurrentRuns: settings.limits.concurrentRuns, runsPerDay: settings.limits.runsPerDay },
    maxStartsInFlight: settings.limits.startsInFlight,
  });
  const stopEvents = await keepRunEvents(runEventsOf(store), settings, logger);
  const requests = drainable(app);
  const server = createServer(requests.listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.gateway.port, settings.gateway.host, () => resolve());
  });
  // Drains (see http-drain.ts) within GATEWAY_SHUTDOWN_SECONDS, then closes what the gateway opened.
  const close = async () => {
    const drained = await requests.drain(server, settings.gatewayShutdownSeconds * 1000);
    await stopEvents();
    await connection.close();
    await tools.close();
    if (!governance) await store.close();
    redis?.disconnect();
    return drained;
  };
  return { server, close, policy };
}

/** How long start-up waits for Temporal or Redis to answer before it names the setting and exits. */
const CONNECT_TIMEOUT_MS = 15_000;

/** Temporal as a start-up dependency: the settings that point at it and what to check. */
function temporalDependency(target: TemporalTarget) {
  return {
    setting: `TEMPORAL_ADDRESS (${target.address}, TEMPORAL_NAMESPACE ${target.namespace})`,
    name: 'Temporal',
    check:
      'Check that the Temporal frontend is running and reachable at that address, that the namespace exists, ' +
      'and the TLS / API key settings (TEMPORAL_TLS_*, TEMPORAL_API_KEY) if the cluster needs them.',
  };
}

/**
 * Connects to Redis before the gateway listens, so a wrong REDIS_URL stops start-up with a message; later
 * losses are logged (ioredis reconnects by itself) and fail only the requests that needed Redis.
 */
async function connectRedis(url: string, logger: Logger): Promise<Redis> {
  let started = false;
  let lastError: Error | undefined;
  // Until it is up, a refused connection ends start-up (null stops ioredis's retries); after, it reconnects.
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 2,
    connectTimeout: 5_000,
    retryStrategy: (times) => (started ? Math.min(times * 200, 2_000) : null),
  });
  redis.on('error', (err: Error) => {
    lastError = err;
    if (started) logger.warn('redis connection error; reconnecting', { error: err.message });
  });
  const u = new URL(url);
  const dependency = {
    setting: `REDIS_URL (${u.hostname}:${u.port || '6379'})`,
    name: 'Redis',
    check: 'Check that Redis is running and reachable there, and the password in the URL.',
  };
  try {
    await connecting(
      dependency,
      async () => {
        try {
          await redis.connect();
          await redis.ping();
        } catch (err) {
          // ioredis rejects with "Connection is closed."; the socket's own error says why.
          throw lastError ?? err;
        }
      },
      CONNECT_TIMEOUT_MS,
    );
    started = true;
    return redis;
  } catch (err) {
    redis.disconnect();
    throw err;
  }
}
