import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import { PassThrough } from 'node:stream';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, type Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { FileBlobStore } from '../../activities/blob-store';
import { ScriptedPlanner } from '../../activities/model/scripted';
import { createToolRegistry } from '../../activities/tools';
import type { ModelProvider } from '../../activities/model/provider';
import type { ToolRegistry } from '../../activities/tools/registry';
import { AgentRegistry } from '../../agents/registry';
import { loadSettings } from '../../config/settings';
import { gatewayConnectionOptions } from '../../gateway/deps';
import { PolicyAuthorizer } from '../../gateway/policy-authorizer';
import { runEventsOf } from '../../governance/events';
import type { GovernanceStore } from '../../governance/store';
import { openTestStore } from './governance';
import { loadPolicyDir } from '../../policies/load';
import type { Policy } from '../../contracts/policy';
import type { Approval } from '../../contracts/run';
import type { ReloadablePolicy } from '../../policies/reloadable';
import { createApp, type QuotaSettings, type RateLimitSettings } from '../../gateway/app';
import { Authenticator, hashApiKey, type JwtSettings } from '../../gateway/auth';
import type { Principal } from '../../contracts/principal';
import { createLogger, type Logger } from '../../observability/logger';
import { GatewayMetrics, WorkerMetrics } from '../../observability/metrics';
import { temporalClientInterceptors } from '../../observability/tracing';
import { createWorker, installTemporalRuntime, WORKFLOW_INTERCEPTOR_MODULES } from '../../worker/worker';
import { eventually } from '../../scripts/drills/processes';

export { eventually };

/** The test run's dev server, started once by global-setup. */
export function testTemporal(): { address: string; namespace: string } {
  const address = process.env.TEST_TEMPORAL_ADDRESS;
  if (!address) throw new Error('TEST_TEMPORAL_ADDRESS is unset: run the tests through jest (global-setup starts the server)');
  return { address, namespace: process.env.TEST_TEMPORAL_NAMESPACE ?? 'default' };
}

/** A task queue no other test uses. */
export function uniqueQueue(prefix = 'test'): string {
  return `${prefix}-${randomUUID()}`;
}

/** Log lines captured from a logger, parsed from its JSON output. */
export interface CapturedLogs {
  logger: Logger;
  lines: () => Record<string, unknown>[];
}

/** A JSON logger whose lines the test can read back. */
export function capturingLogger(service: string): CapturedLogs {
  const stream = new PassThrough();
  const lines: Record<string, unknown>[] = [];
  stream.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
  });
  return { logger: createLogger({ level: 'debug', format: 'json', defaults: { service }, stream }), lines: () => lines };
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
/** The workflow bundle, built once per test file. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows'),
    workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES,
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
  });
  return bundle;
}

export interface PlatformOptions {
  taskQueue?: string;
  agents?: AgentRegistry;
  tools?: ToolRegistry;
  providers?: ModelProvider[];
  /** Where large tool outputs go (defaults to the settings' folder). */
  blobDir?: string;
  /**
   * The governance store (audit ledger, tenant budgets) of the gateway and the worker. Without one the
   * platform opens its own in a fresh PostgreSQL schema and drops it at stop().
   */
  audit?: GovernanceStore;
  /** The policy runs are started with (default: the project's policies/); a ReloadablePolicy makes it reloadable. */
  policy?: Policy | ReloadablePolicy;
  /** The environment the policy decides for (default dev). */
  environment?: 'dev' | 'staging' | 'prod';
  rateLimits?: RateLimitSettings;
  quotas?: QuotaSettings;
  /** JWT verification for the gateway (tests of bearer tokens). */
  jwt?: JwtSettings;
  /** Where the gateway alone reaches Temporal (default temporalAddress; a proxy in front of it to cut answers). */
  gatewayTemporalAddress?: string;
  /** The gateway's bound of run starts in flight. */
  maxStartsInFlight?: number;
  /** Event stream limits (heartbeat interval, most concurrent watchers). */
  events?: { heartbeatSeconds: number; maxWatchers: number };
  /** Start without a worker (to show runs wait for one). */
  withWorker?: boolean;
  logger?: Logger;
  /** The Temporal frontend the gateway and the worker use (default: the test run's dev server). */
  temporalAddress?: string;
  /** Serve the Temporal SDK's runtime metrics here (host:port); only the first runtime of a process counts. */
  sdkMetricsAddress?: string;
}

/** A real worker and the real gateway (listening on a free port) against the test dev server. */
export interface TestPlatform {
  baseUrl: string;
  /** Credentials (an API key registered on the fly) for a principal: subject, tenant, roles. */
  as(p?: Partial<Principal>, key?: string): Record<string, string>;
  /** Credentials of the default test principal: `tester` of tenant `default`, a dispatcher. */
  auth: Record<string, string>;
  client: Client;
  taskQueue: string;
  agents: AgentRegistry;
  /** The governance store the gateway and the worker write to. */
  governance: GovernanceStore;
  /** The gateway's and the worker's metrics registries (their /metrics serve them). */
  metrics: { gateway: GatewayMetrics; worker: WorkerMetrics };
  startWorker(): Promise<void>;
  /** Shuts the worker down (the gateway stays up), as a worker that died or was scaled to zero. */
  stopWorker(): Promise<void>;
  stop(): Promise<void>;
}

/** An authenticator with no keys yet, and `as`, which registers a key for a principal and returns its header. */
function testAuthenticator(jwt: JwtSettings | undefined) {
  const authenticator = new Authenticator({ apiKeys: [], ...(jwt ? { jwt } : {}) });
  const as = (p: Partial<Principal> = {}, key = `test-key-${randomUUID()}`): Record<string, string> => {
    authenticator.addKey({
      sha256: hashApiKey(key),
      subject: p.subject ?? 'tester',
      tenant: p.tenant ?? 'default',
      roles: p.roles ?? ['dispatcher'],
    });
    return { authorization: `Bearer ${key}` };
  };
  return { authenticator, as };
}

/**
 * A worker a test can start and stop while the gateway stays up; `create` connects and builds one.
 * The worker's NativeConnection is closed only after the worker has shut down.
 */
function workerSwitch(options: PlatformOptions, logger: Logger, create: () => Promise<{ connection: NativeConnection; worker: Worker }>) {
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  let nativeConnection: NativeConnection | undefined;
  const startWorker = async () => {
    // Installed with the first worker, not before: a runtime no worker ever used keeps the process alive.
    installTemporalRuntime(logger, options.sdkMetricsAddress);
    ({ connection: nativeConnection, worker } = await create());
    running = worker.run();
  };
  const stopWorker = async () => {
    if (worker && worker.getState() === 'RUNNING') worker.shutdown();
    await running;
    await nativeConnection?.close();
    worker = running = nativeConnection = undefined;
  };
  return { startWorker, stopWorker };
}

/** Starts a platform for one test file or test: its own task queue, worker and gateway. */
export async function startPlatform(options: PlatformOptions = {}): Promise<TestPlatform> {
  const { address: shared, namespace } = testTemporal();
  const address = options.temporalAddress ?? shared;
  const settings = loadSettings({});
  // Tickets and blobs of a test go to the test run's temporary folder, never to the project's .data/.
  const scratch = path.join(process.env.TEST_TMP_DIR ?? os.tmpdir(), `platform-${randomUUID()}`);
  const tools = options.tools ?? createToolRegistry({ docsDir: settings.docsDir, ticketsFile: path.join(scratch, 'tickets.jsonl') });
  const agents = options.agents ?? AgentRegistry.load(settings.agentsDir, tools);
  const taskQueue = options.taskQueue ?? uniqueQueue();
  const logger = options.logger ?? createLogger({ level: 'error', format: 'json' });

  const ownStore = options.audit ? undefined : await openTestStore();
  const governance = options.audit ?? ownStore!.store;
  // The gateway's own connection options, so tests see its reconnect behaviour.
  const connection = await Connection.connect(gatewayConnectionOptions({ address: options.gatewayTemporalAddress ?? address }));
  const client = new Client({ connection, namespace, interceptors: temporalClientInterceptors() });
  const metrics = { gateway: new GatewayMetrics(), worker: new WorkerMetrics() };
  const policy = options.policy ?? loadPolicyDir(settings.policiesDir, { agents: agents.list().map((a) => a.name), tools: tools.names() });
  const { authenticator, as } = testAuthenticator(options.jwt);
  const app = createApp({
    client,
    agents,
    tools,
    taskQueue,
    logger,
    temporalUiUrl: 'http://127.0.0.1:8233',
    authenticate: (req) => authenticator.authenticate(req),
    authorizer: new PolicyAuthorizer(policy, options.environment ?? 'dev'),
    policy,
    environment: options.environment ?? 'dev',
    audit: governance,
    runEvents: runEventsOf(governance),
    ...(options.events ? { events: options.events } : {}),
    metrics: metrics.gateway,
    ...(options.rateLimits ? { rateLimits: options.rateLimits } : {}),
    ...(options.quotas ? { quotas: options.quotas } : {}),
    ...(options.maxStartsInFlight ? { maxStartsInFlight: options.maxStartsInFlight } : {}),
  });
  const server: Server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const { startWorker, stopWorker } = workerSwitch(options, logger, () =>
    NativeConnection.connect({ address }).then(async (connection) => ({
      connection,
      worker: await createWorker({
        connection,
        namespace,
        taskQueue,
        providers: options.providers ?? [new ScriptedPlanner()],
        tools,
        blobs: new FileBlobStore(options.blobDir ?? path.join(scratch, 'blobs')),
        governance,
        metrics: metrics.worker,
        runEvents: runEventsOf(governance),
        workflowBundle: await workflowBundle(),
      }),
    })),
  );
  if (options.withWorker !== false) await startWorker();

  return {
    baseUrl,
    as,
    auth: as(),
    client,
    taskQueue,
    agents,
    governance,
    metrics,
    startWorker,
    stopWorker,
    async stop() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await stopWorker();
      await connection.close();
      await ownStore?.close();
    },
  };
}

/**
 * JSON over real HTTP. Given a TestPlatform, it sends the platform's default credentials unless the
 * headers carry their own (`authorization` or `x-api-key`); `{ authorization: '' }` sends none, and
 * `{ 'content-type': '' }` sends the body with no content type at all.
 */
export async function http(
  target: string | TestPlatform,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const baseUrl = typeof target === 'string' ? target : target.baseUrl;
  const own = Object.keys(headers).some((h) => ['authorization', 'x-api-key'].includes(h.toLowerCase()));
  const all: Record<string, string> = { ...(typeof target !== 'string' && !own ? target.auth : {}), ...headers };
  if (all.authorization === '') delete all.authorization;
  const init: RequestInit = { method, headers: all };
  if (body !== undefined) {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    if (all['content-type'] === '') {
      delete all['content-type'];
      // Bytes, because fetch labels a string body text/plain.
      init.body = new TextEncoder().encode(text);
    } else {
      init.body = text;
      all['content-type'] ??= 'application/json';
    }
  }
  const res = await fetch(baseUrl + path, init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** Polls GET /v1/runs/{id} until the run is no longer running. */
export async function waitForRun(
  target: string | TestPlatform,
  runId: string,
  timeoutMs = 30_000,
  headers: Record<string, string> = {},
): Promise<Record<string, unknown>> {
  return eventually(
    async () => {
      const res = await http(target, 'GET', `/v1/runs/${runId}`, undefined, headers);
      if (res.status !== 200) throw new Error(`GET /v1/runs/${runId} answered ${res.status}`);
      return res.body.status !== 'running' ? res.body : undefined;
    },
    timeoutMs,
    `run ${runId} to finish`,
  );
}

/** Waits for the run's pending approval and approves it, bound to its args hash, as `subject` with the approver role. */
export async function approvePending(p: TestPlatform, runId: string, subject: string) {
  const approval = await eventually(async () =>
    ((await http(p, 'GET', `/v1/runs/${runId}`)).body.approvals as Approval[] | undefined)?.find((a) => a.status === 'pending'),
  );
  const decided = await http(
    p,
    'POST',
    `/v1/runs/${runId}/approvals/${approval.id}`,
    { decision: 'approve', args_hash: approval.args_hash },
    p.as({ subject, roles: ['approver'] }),
  );
  return { approval, decided };
}
