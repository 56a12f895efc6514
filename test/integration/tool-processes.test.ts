import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Pool } from 'pg';
import { AgentRegistry } from '../../agents/registry';
import { startStatusServer, type StatusServer } from '../../agents/incident-investigator/status-server';
import { PROJECT_ROOT } from '../../config/settings';
import type { ToolRegistry } from '../../activities/tools/registry';
import { PG_URL } from '../support/governance';
import { eventually, http, startPlatform, testTemporal, waitForRun, type TestPlatform } from '../support/platform';
import { localServer, registryFor, scratchDir, writeToolsDir } from '../support/tools';

// Separate processes, built from this tree (npm run build): the production worker entry
// (dist/scripts/start-worker.js) killed with SIGKILL in the middle of a write, and `npm run tool`.
const node = path.join(PROJECT_ROOT, 'node_modules', '.bin', 'node');
const run = promisify(execFile);

beforeAll(() => {
  const built = spawnSync('npm', ['run', 'build', '--silent'], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`npm run build failed: ${built.stdout}${built.stderr}`);
}, 300_000);

/** A write tool that makes one effect per step at TARGET_URL, and an agent that calls it once. */
function effectWriterFixtures(dir: string): { toolsDir: string; agentsDir: string } {
  const toolsDir = writeToolsDir({
    'write.yaml': `
tools:
  - name: effect_write
    kind: http
    description: makes one effect per step at the target
    side_effect: write
    method: POST
    url: '\${TARGET_URL}/effects'
    input_schema: { type: object, required: [note], properties: { note: { type: string } } }
    output_schema: { type: object, required: [id], properties: { id: { type: string } } }
    allow_private_hosts: [127.0.0.1]
    timeout_ms: 5000
    max_attempts: 3
`,
  });
  const agentsDir = path.join(dir, 'agents');
  mkdirSync(path.join(agentsDir, 'effect-writer'), { recursive: true });
  writeFileSync(
    path.join(agentsDir, 'effect-writer', 'agent.yaml'),
    `name: effect-writer
version: 1.0.0
owner: test
description: makes one effect
model: { provider: scripted, name: s }
instructions: write once
tools: [effect_write]
script:
  steps:
    - tool: effect_write
      args: { note: '{{task}}' }
  finish: { summary: 'done: {{task}}' }
`,
  );
  return { toolsDir, agentsDir };
}

/** The environment of a worker process (node dist/scripts/start-worker.js) on the test's queue and store schema. */
function workerEnv(
  taskQueue: string,
  o: { agentsDir: string; toolsDir: string; dir: string; targetUrl: string; schema: string },
): NodeJS.ProcessEnv {
  const { address, namespace } = testTemporal();
  return {
    ...process.env,
    TEMPORAL_ADDRESS: address,
    TEMPORAL_NAMESPACE: namespace,
    TEMPORAL_TASK_QUEUE: taskQueue,
    AGENTS_DIR: o.agentsDir,
    TOOLS_DIR: o.toolsDir,
    TARGET_URL: o.targetUrl,
    GOVERNANCE_DATABASE_URL: `${PG_URL}?options=${encodeURIComponent(`-c search_path=${o.schema}`)}`,
    TICKETS_FILE: path.join(o.dir, 'tickets.jsonl'),
    MCP_MEMORY_FILE: path.join(o.dir, 'memory.jsonl'),
    BLOB_DIR: path.join(o.dir, 'blobs'),
    LOG_FORMAT: 'json',
    // No metrics ports: workers of parallel test files would share the defaults.
    WORKER_METRICS_PORT: '0',
  };
}

/** Starts a worker process; `polling` resolves once it polls, and rejects if it exits first. */
function spawnWorker(env: NodeJS.ProcessEnv) {
  const child = spawn(node, [path.join(PROJECT_ROOT, 'dist', 'scripts', 'start-worker.js')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const polling = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', () => out.includes('worker polling') && resolve());
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before polling: ${out}`)));
  });
  return { child, polling };
}

describe('kill after effect', () => {
  let target: Awaited<ReturnType<typeof localServer>>;
  let platform: TestPlatform;
  let registry: ToolRegistry;
  let admin: Pool;
  const schema = `acp_kill_${randomBytes(6).toString('hex')}`;
  const workers: ChildProcess[] = [];
  /** Effects the target made, one per distinct Idempotency-Key, with the answer it gave. */
  const effects = new Map<string, { id: string }>();
  let onFirstEffect: () => void = () => undefined;

  let env: NodeJS.ProcessEnv;
  const startWorker = () => {
    const started = spawnWorker(env);
    workers.push(started.child);
    return started;
  };

  beforeAll(async () => {
    target = await localServer((req, res) => {
      const key = String(req.headers['idempotency-key'] ?? '');
      const done = effects.get(key);
      // A real idempotent API: a key it has seen gets the first answer again, and no new effect.
      if (done) return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ...done, replayed: true }));
      effects.set(key, { id: `EFF-${effects.size + 1}` });
      // The effect is made; the worker dies before it can hear back, let alone complete the activity.
      onFirstEffect();
    });
    const dir = scratchDir('kill');
    const { toolsDir, agentsDir } = effectWriterFixtures(dir);
    registry = registryFor(toolsDir, { env: { TARGET_URL: target.url } });
    platform = await startPlatform({ withWorker: false, tools: registry, agents: AgentRegistry.load(agentsDir, registry) });
    admin = new Pool({ connectionString: PG_URL, max: 1 });
    await admin.query(`CREATE SCHEMA ${schema}`);
    env = workerEnv(platform.taskQueue, { agentsDir, toolsDir, dir, targetUrl: target.url, schema });
  }, 120_000);
  afterAll(async () => {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    await platform?.stop();
    await registry?.close();
    await target?.close();
    await admin?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin?.end();
  });

  test('a worker SIGKILLed after the write reached the target: the retry carries the same Idempotency-Key, the effect happens once', async () => {
    const first = startWorker();
    await first.polling;
    const killed = new Promise<void>((resolve) => {
      onFirstEffect = () => {
        first.child.kill('SIGKILL');
        first.child.once('exit', () => resolve());
      };
    });
    const res = await http(platform, 'POST', '/v1/runs', { agent: 'effect-writer', task: 'page the on-call' });
    expect(res.status).toBe(202);
    const runId = res.body.run_id as string;
    await killed;
    expect(effects.size).toBe(1);
    // A new worker picks the activity up once the dead one's heartbeat times out.
    onFirstEffect = () => undefined;
    const second = startWorker();
    await second.polling;
    const done = await waitForRun(platform, runId, 90_000);
    expect(done.status).toBe('completed');
    const requests = target.requests.filter((r) => r.url === '/effects');
    expect(requests.length).toBe(2);
    expect(new Set(requests.map((r) => r.headers['idempotency-key'])).size).toBe(1);
    expect(effects.size).toBe(1);
    const step = (done.steps as { type: string; output_summary?: string }[]).find((s) => s.type === 'ToolCall');
    expect(JSON.stringify(step)).toContain('EFF-1');
    second.child.kill('SIGTERM');
    await eventually(
      async () => (second.child.exitCode !== null || second.child.signalCode !== null ? true : undefined),
      30_000,
      'worker to stop',
    );
  }, 180_000);
});

describe('npm run tool', () => {
  let status: StatusServer;
  beforeAll(async () => {
    status = await startStatusServer();
  });
  afterAll(() => status.close());
  const tool = (...args: string[]) =>
    run(node, [path.join(PROJECT_ROOT, 'dist', 'scripts', 'tool.js'), ...args], {
      env: { ...process.env, STATUS_URL: status.url, MCP_MEMORY_FILE: path.join(scratchDir('cli'), 'm.jsonl') },
    }).then(
      (r) => ({ code: 0, stdout: r.stdout }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout + e.stderr }),
    );

  test('--list shows every tool with its kind, side effect and clearance', async () => {
    const { code, stdout } = await tool('--list');
    expect(code).toBe(0);
    expect(stdout).toMatch(/service_status\s+http\s+read\s+internal/);
    expect(stdout).toMatch(/recent_incidents\s+sql\s+read\s+internal/);
    expect(stdout).toMatch(/memory\.search_nodes\s+mcp\s+read\s+internal/);
    expect(stdout).toMatch(/docs_search\s+typescript\s+read/);
  }, 60_000);

  test('runs one tool once and prints its output; bad arguments print the typed error', async () => {
    const ok = await tool('service_status', '{"service":"checkout"}');
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ output: { service: 'checkout', status: 'degraded' } });
    const bad = await tool('service_status', '{"service":"Not A Service"}');
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ error: { type: 'ToolInputInvalid', non_retryable: true } });
    const unknown = await tool('no_such_tool', '{}');
    expect(unknown.code).toBe(2);
    expect(unknown.stdout).toContain('unknown tool "no_such_tool"');
  }, 60_000);
});
