// `npm run bench`: what the control plane costs over raw Temporal doing the same work, as ratios
// measured in one run on one dev server. Three scenarios, each the example docs-researcher task (a
// model call, a tool call, a model call) on the scripted planner:
//   raw       rawRun (bench/workflows.ts): the same plan and tool activities in a plain loop
//   agentRun  the platform's workflow: state machine, policy checks, search attributes, budgets
//   +budget   agentRun for a priced agent under a tenant daily budget: a reserve and a settle
//             activity around every model call, in the governance store
// Each scenario runs BENCH_RUNS runs (default 60) at BENCH_CONCURRENCY (default 10) after a warm-up,
// started with the Temporal client (the gateway is not measured here). The runs are split in
// BENCH_ROUNDS rounds (default 3) that take the scenarios in turn, so drift over the run (a server
// warming up, its store growing) weighs on every scenario alike.
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
import { loadSettings } from '../config/settings';
import { AgentDefinitionSchema } from '../contracts/agent';
import type { AgentRunInput } from '../contracts/run';
import { openGovernanceStore } from '../governance/open';
import { createLogger } from '../observability/logger';
import { loadPolicyDir } from '../policies/load';
import { cliVersion, resolveTemporalCli } from '../temporal/cli';
import { startScratchDevServer } from '../temporal/dev-server';
import { createWorker, installTemporalRuntime } from '../worker/worker';

const RUNS = Number(process.env.BENCH_RUNS ?? 60);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WARMUP = 10;

interface Result {
  scenario: string;
  runs: number;
  seconds: number;
  throughput: number;
  p50: number;
  p95: number;
}

interface Scenario {
  name: string;
  run: () => Promise<number>;
  latencies: number[];
  seconds: number;
  runs: number;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function main(): Promise<void> {
  const settings = loadSettings();
  installTemporalRuntime(createLogger({ level: 'error', format: 'json' }));
  const cli = resolveTemporalCli({ onProgress: (m) => process.stderr.write(`${m}\n`) });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'acp-bench-'));
  const server = await startScratchDevServer({ cliPath: cli.path, dir, searchAttributes: settings.searchAttributes });
  // The governance store as the platform opens it: PostgreSQL when GOVERNANCE_DATABASE_URL is set,
  // else the embedded PGlite, here in the benchmark's own folder.
  const governance = await openGovernanceStore({
    ...settings,
    governance: { ...settings.governance, pgliteDir: path.join(dir, 'governance') },
  });
  const storeKind = settings.governance.databaseUrl ? 'PostgreSQL' : 'PGlite';

  const tools = createToolRegistry({ docsDir: settings.docsDir, ticketsFile: path.join(dir, 'tickets.jsonl') });
  const base = AgentRegistry.load(settings.agentsDir, tools).resolve('docs-researcher').definition;
  // The same agent with a price: every model call is estimated above zero, so it reserves and settles.
  const priced = AgentDefinitionSchema.parse({
    ...base,
    name: 'docs-researcher-priced',
    model: { ...base.model, max_output_tokens: 256, pricing: { input_per_1k: 0.001, output_per_1k: 0.002 } },
  });
  const agents = new AgentRegistry([base, priced], tools);
  const policy = loadPolicyDir(settings.policiesDir, { agents: agents.list().map((a) => a.name), tools: tools.names() });

  const taskQueue = `bench-${randomUUID()}`;
  const nativeConnection = await NativeConnection.connect({ address: server.address });
  const worker = await createWorker({
    connection: nativeConnection,
    namespace: server.namespace,
    taskQueue,
    providers: [new ScriptedPlanner()],
    tools,
    blobs: new FileBlobStore(path.join(dir, 'blobs')),
    governance,
    workflowsPath: require.resolve('./workflows'),
  });
  const running = worker.run();
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, namespace: server.namespace });

  const input = (agent: string, tenant: string): AgentRunInput => ({
    agent: agents.resolve(agent),
    task: 'How do I dispatch a run?',
    context: {},
    constraints: {},
    initiator: { subject: 'bench', tenant, roles: ['dispatcher'] },
    requested_at: new Date().toISOString(),
    policy,
    environment: 'dev',
    context_labels: {},
  });
  const once = async (workflow: 'rawRun' | 'agentRun', agent: string, tenant: string): Promise<number> => {
    const started = performance.now();
    await client.workflow.execute(workflow, { taskQueue, workflowId: `bench-${randomUUID()}`, args: [input(agent, tenant)] });
    return performance.now() - started;
  };
  /** One round of a scenario: `runs` runs, CONCURRENCY at a time. */
  const round = async (s: Scenario, runs: number): Promise<void> => {
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next++ < runs) s.latencies.push(await s.run());
      }),
    );
    s.seconds += (performance.now() - t0) / 1000;
    s.runs += runs;
  };
  const measure = async (scenarios: Scenario[]): Promise<Result[]> => {
    for (const s of scenarios) for (let i = 0; i < WARMUP; i++) await s.run();
    for (let r = 0; r < ROUNDS; r++) {
      const runs = Math.floor(RUNS / ROUNDS) + (r < RUNS % ROUNDS ? 1 : 0);
      for (const s of scenarios) await round(s, runs);
    }
    return scenarios.map((s) => {
      const sorted = [...s.latencies].sort((a, b) => a - b);
      return {
        scenario: s.name,
        runs: s.runs,
        seconds: s.seconds,
        throughput: s.runs / s.seconds,
        p50: percentile(sorted, 50),
        p95: percentile(sorted, 95),
      };
    });
  };
  const scenario = (name: string, run: () => Promise<number>): Scenario => ({ name, run, latencies: [], seconds: 0, runs: 0 });

  try {
    const tenant = `bench-${randomUUID().slice(0, 8)}`;
    const results = await measure([
      scenario('raw Temporal (rawRun)', () => once('rawRun', 'docs-researcher', tenant)),
      scenario('agentRun', () => once('agentRun', 'docs-researcher', tenant)),
      scenario('agentRun + tenant budget', () => once('agentRun', 'docs-researcher-priced', tenant)),
    ]);
    const raw = results[0]!;
    const day = await governance.budgetDay(tenant, new Date().toISOString().slice(0, 10));
    const lines = [
      `Benchmark: ${RUNS} runs a scenario in ${ROUNDS} rounds, at concurrency ${CONCURRENCY} (after ${WARMUP} warm-up runs), one dev server`,
      `Node ${process.version}, ${cliVersion(cli.path)}, ${os.cpus().length} CPUs, governance store ${storeKind}`,
      '',
      'scenario                     runs/s  p50 ms  p95 ms   throughput vs raw   p50 vs raw',
      ...results.map(
        (r) =>
          `${r.scenario.padEnd(27)} ${r.throughput.toFixed(1).padStart(7)} ${r.p50.toFixed(0).padStart(7)} ${r.p95.toFixed(0).padStart(7)}   ${(r.throughput / raw.throughput).toFixed(2).padStart(17)}   ${(r.p50 / raw.p50).toFixed(2).padStart(10)}`,
      ),
      '',
      `The budget scenario reserved and settled ${day.reservations.settled} model calls (${day.reservations.denied} denied) for $${day.committed_usd}.`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    worker.shutdown();
    await running;
    await nativeConnection.close();
    await connection.close();
    await governance.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
