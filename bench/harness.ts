// What the benchmark runs against, all started here: a scratch dev server, the governance store, one
// worker with the benchmark's workflows, the real gateway (auth, rate limit, policy, idempotency) on a
// free port, and Temporal clients (one plain, one with the tracing interceptors).
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { FileBlobStore } from '../activities/blob-store';
import { ScriptedPlanner } from '../activities/model/scripted';
import { createToolRegistry } from '../activities/tools';
import { AgentRegistry } from '../agents/registry';
import { loadSettings, type Settings } from '../config/settings';
import { AgentDefinitionSchema, type AgentDefinition } from '../contracts/agent';
import type { AgentRunInput } from '../contracts/run';
import { hashApiKey } from '../gateway/auth';
import { runEventsOf } from '../governance/events';
import { openGovernanceStore } from '../governance/open';
import type { GovernanceStore } from '../governance/store';
import { createLogger, type Logger } from '../observability/logger';
import { temporalClientInterceptors } from '../observability/tracing';
import { loadPolicyDir } from '../policies/load';
import { startGateway } from '../scripts/runtime';
import { cliVersion, resolveTemporalCli } from '../temporal/cli';
import { freePort, startScratchDevServer } from '../temporal/dev-server';
import { createWorker, installTemporalRuntime } from '../worker/worker';

/** The agents the benchmark runs: the example, a priced copy (it reserves and settles), and N-step copies. */
function benchAgents(base: AgentDefinition, filer: AgentDefinition, steps: number[]): AgentDefinition[] {
  const priced = AgentDefinitionSchema.parse({
    ...base,
    name: 'docs-researcher-priced',
    model: { ...base.model, max_output_tokens: 256, pricing: { input_per_1k: 0.001, output_per_1k: 0.002 } },
  });
  // agentRun records four steps a tool step (Plan, ToolCall, Validate, Decide).
  const stepped = steps.map((n) =>
    AgentDefinitionSchema.parse({
      ...base,
      name: `bench-steps-${n}`,
      budgets: { ...base.budgets, max_steps: 4 * n + 10 },
      script: { ...base.script!, steps: Array.from({ length: n }, () => base.script!.steps[0]!) },
    }),
  );
  return [base, filer, priced, ...stepped];
}

/** The settings the benchmark runs with: its own port and task queue, limits it never reaches. */
function benchSettings(port: number, taskQueue: string) {
  return loadSettings({
    ...process.env,
    GATEWAY_PORT: String(port),
    TEMPORAL_TASK_QUEUE: taskQueue,
    // High enough never to refuse the benchmark: the checks still run on every request.
    RATE_LIMIT_PRINCIPAL_PER_MINUTE: '10000000',
    RATE_LIMIT_TENANT_PER_MINUTE: '10000000',
    QUOTA_CONCURRENT_RUNS: '10000000',
    QUOTA_RUNS_PER_DAY: '10000000',
  });
}

/** A worker on the scratch server whose model is the scripted planner (no vendor in the numbers). */
function benchWorker(
  connection: NativeConnection,
  namespace: string,
  taskQueue: string,
  tools: ReturnType<typeof createToolRegistry>,
  dir: string,
  governance: GovernanceStore,
) {
  return createWorker({
    connection,
    namespace,
    taskQueue,
    providers: [new ScriptedPlanner()],
    tools,
    blobs: new FileBlobStore(path.join(dir, 'blobs')),
    governance,
    runEvents: runEventsOf(governance),
    workflowsPath: require.resolve('./workflows'),
  });
}

/** The gateway under test, with a dispatcher key and an approver key of one fresh tenant. */
async function benchGateway(
  settings: Settings,
  server: { address: string; namespace: string },
  logger: Logger,
  governance: GovernanceStore,
) {
  const keys = { dispatcher: `bench-${randomUUID()}`, approver: `bench-${randomUUID()}` };
  const tenant = `bench-${randomUUID().slice(0, 8)}`;
  const gateway = await startGateway(
    settings,
    { address: server.address, namespace: server.namespace, connectionOptions: { address: server.address } },
    logger,
    undefined,
    [
      { sha256: hashApiKey(keys.dispatcher), subject: 'bench', tenant, roles: ['dispatcher'] },
      { sha256: hashApiKey(keys.approver), subject: 'bench-approver', tenant, roles: ['approver'] },
    ],
    governance,
  );
  return { gateway, keys, tenant };
}

/** One line naming the machine the numbers were taken on. */
function machine(temporalCli: string, settings: Settings): string {
  const cpus = os.cpus();
  const store = settings.governance.databaseUrl ? 'PostgreSQL' : 'PGlite';
  return `Node ${process.version}, ${temporalCli}, ${cpus.length} CPUs (${cpus[0]?.model ?? '?'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, governance store ${store}`;
}

export type Bench = Awaited<ReturnType<typeof startBench>>;

/** Starts everything the scenarios need; stop() takes it all down and removes the scratch folder. */
export async function startBench(steps: number[]) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'acp-bench-'));
  const taskQueue = `bench-${randomUUID()}`;
  const port = await freePort();
  const settings = benchSettings(port, taskQueue);
  const logger = createLogger({ level: 'error', format: 'json' });
  installTemporalRuntime(logger);
  const cli = resolveTemporalCli({ onProgress: (m) => process.stderr.write(`${m}\n`) });
  const server = await startScratchDevServer({ cliPath: cli.path, dir, searchAttributes: settings.searchAttributes });
  // PostgreSQL when GOVERNANCE_DATABASE_URL is set, else the embedded PGlite in the benchmark's folder.
  const governance = await openGovernanceStore({
    ...settings,
    governance: { ...settings.governance, pgliteDir: path.join(dir, 'governance') },
  });
  const tools = createToolRegistry({ docsDir: settings.docsDir, ticketsFile: path.join(dir, 'tickets.jsonl') });
  const catalog = AgentRegistry.load(settings.agentsDir, tools);
  const agents = new AgentRegistry(
    benchAgents(catalog.resolve('docs-researcher').definition, catalog.resolve('ticket-filer').definition, steps),
    tools,
  );
  const policy = loadPolicyDir(settings.policiesDir, { agents: agents.list().map((a) => a.name), tools: tools.names() });

  const nativeConnection = await NativeConnection.connect({ address: server.address });
  const worker = await benchWorker(nativeConnection, server.namespace, taskQueue, tools, dir, governance);
  const running = worker.run();
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, namespace: server.namespace });
  const traced = new Client({ connection, namespace: server.namespace, interceptors: temporalClientInterceptors() });

  const { gateway, keys, tenant } = await benchGateway(settings, server, logger, governance);

  const input = (agent: string, context: Record<string, unknown> = {}): AgentRunInput => ({
    agent: agents.resolve(agent),
    task: 'How do I dispatch a run?',
    context,
    constraints: {},
    initiator: { subject: 'bench', tenant, roles: ['dispatcher'] },
    requested_at: new Date().toISOString(),
    policy,
    environment: 'dev',
    context_labels: {},
  });

  return {
    dir,
    taskQueue,
    tenant,
    client,
    traced,
    governance,
    gatewayUrl: `http://127.0.0.1:${port}`,
    keys,
    input,
    machine: machine(cliVersion(cli.path), settings),
    /** A fresh workflow id. */
    id: (prefix: string) => `${prefix}-${randomUUID()}`,
    async stop() {
      await gateway.close();
      worker.shutdown();
      await running;
      await nativeConnection.close();
      await connection.close();
      await governance.close();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
