import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../config/settings';
import { freePort, isListening } from '../../temporal/dev-server';
import { hashApiKey } from '../../gateway/auth';
import { eventually, http, testTemporal, uniqueQueue, waitForRun } from '../support/platform';

// `npm run dev` as a newcomer uses it: build, start, print a curl, serve it, stop on Ctrl-C. One test
// points it at the test run's dev server (the "reuse a server already listening" path); another lets
// it start its own Temporal server on free ports with a scratch database file, and restarts it to show
// earlier runs survive (the README's persistence claim).
jest.setTimeout(300_000);

/** Every `npm run dev` this file started, so a failed test leaves no process behind. */
const started: ChildProcess[] = [];
const scratch: string[] = [];
afterAll(() => {
  for (const child of started) {
    // Only if a test failed before its Ctrl-C: kill what is left of the process group.
    if (child.pid && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

const tmpDir = (prefix: string) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  scratch.push(dir);
  return dir;
};

/** Polls until nothing listens on host:port (a deadline, not a fixed wait). */
const closed = (host: string, port: number, what: string) =>
  eventually(async () => ((await isListening(host, port)) ? undefined : true), 30_000, `${what} (${host}:${port}) to stop listening`);

/** dist/ is built by `npm run dev`; a test that runs a built script without one before it builds it. */
let distBuilt = false;
function ensureBuilt(): void {
  if (distBuilt) return;
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: PROJECT_ROOT, stdio: 'pipe', timeout: 240_000 });
  distBuilt = true;
}

interface DevProcess {
  banner: string;
  output: () => string;
  /** Ctrl-C, as a terminal sends it to the whole process group; resolves once every process is gone. */
  interrupt: () => Promise<void>;
}

/** Starts `npm run dev` with `env` and waits for its banner. */
async function startDev(env: Record<string, string>): Promise<DevProcess> {
  const proc = spawn('npm', ['run', 'dev'], {
    cwd: PROJECT_ROOT,
    detached: true, // its own process group, so the test can send SIGINT to all of it like a terminal's Ctrl-C
    env: { ...process.env, LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(proc);
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  // 'close' waits for every process holding the output pipes (npm and the dev process under it).
  const exited = new Promise<void>((resolve) => proc.once('close', () => resolve()));
  const early = new Error('npm run dev exited early');
  const banner = await eventually(
    async () => {
      if (out.includes('Ctrl-C stops everything')) return out;
      if (proc.exitCode !== null) throw early;
      return undefined;
    },
    240_000,
    'the npm run dev banner',
  ).catch((err: unknown) => {
    throw new Error(`${err instanceof Error ? err.message : String(err)}:\n${out}`);
  });
  distBuilt = true;
  return {
    banner,
    output: () => out,
    async interrupt() {
      process.kill(-proc.pid!, 'SIGINT');
      await exited;
    },
  };
}

/** The env that keeps a dev process's data in `dir`, never in the project's own .data/. */
const devEnv = (dir: string, gatewayPort: number): Record<string, string> => ({
  GOVERNANCE_PGLITE_DIR: path.join(dir, 'governance'),
  TICKETS_FILE: path.join(dir, 'tickets.jsonl'),
  BLOB_DIR: path.join(dir, 'blobs'),
  TEMPORAL_TASK_QUEUE: uniqueQueue('dev'),
  GATEWAY_PORT: String(gatewayPort),
  // No worker metrics port (and no SDK metrics): dev processes of parallel tests would share the defaults.
  WORKER_METRICS_PORT: '0',
});

const DEV_KEY = { authorization: 'Bearer dev-dispatcher-key' };

test('npm run dev serves the printed curl and Ctrl-C stops what it started', async () => {
  const { address } = testTemporal();
  const [ip, port] = address.split(':') as [string, string];
  const gatewayPort = await freePort();
  const tmp = tmpDir('acp-dev-');
  const dev = await startDev({
    ...devEnv(tmp, gatewayPort),
    TEMPORAL_DEV_IP: ip,
    TEMPORAL_DEV_PORT: port,
    TEMPORAL_DEV_DB_FILE: path.join(tmp, 'dev.sqlite'),
    TEMPORAL_DEV_LOG_FILE: path.join(tmp, 'dev.log'),
  });
  expect(dev.banner).toContain(`Gateway       http://127.0.0.1:${gatewayPort}`);
  expect(dev.banner).toMatch(/Temporal CLI +temporal version \d+\.\d+\.\d+/);
  expect(dev.banner).toContain('(reused)');

  const curl = dev.banner.split('\n').find((l) => l.trim().startsWith('curl -s -X POST'));
  expect(curl).toBeDefined();
  const dispatched = JSON.parse(execFileSync('bash', ['-c', curl!.trim()], { encoding: 'utf8' })) as { run_id: string };
  expect(dispatched.run_id).toMatch(/^run-/);

  const base = `http://127.0.0.1:${gatewayPort}`;
  const run = await waitForRun(base, dispatched.run_id, 60_000, DEV_KEY);
  expect(run.status).toBe('completed');
  expect((run.output as { evidence: unknown[] }).evidence.length).toBeGreaterThan(0);
  expect((await http(base, 'GET', '/healthz')).body).toEqual({ status: 'ok' });

  await dev.interrupt();
  expect(dev.output()).toContain('"message":"stopped"');
  await closed('127.0.0.1', gatewayPort, 'the gateway');
  // It reused the suite's server, so it must have left it running.
  expect(await isListening(ip, Number(port))).toBe(true);
});

test('npm run dev starts its own Temporal server, stops it on Ctrl-C, and a restart keeps the earlier runs', async () => {
  const tmp = tmpDir('acp-dev-own-');
  const dbFile = path.join(tmp, 'dev.sqlite');
  const temporalPort = await freePort();
  const gatewayPort = await freePort();
  const env = {
    ...devEnv(tmp, gatewayPort),
    TEMPORAL_DEV_IP: '127.0.0.1',
    TEMPORAL_DEV_PORT: String(temporalPort),
    TEMPORAL_DEV_UI_PORT: String(await freePort()),
    TEMPORAL_DEV_DB_FILE: dbFile,
    TEMPORAL_DEV_LOG_FILE: path.join(tmp, 'dev.log'),
  };
  const base = `http://127.0.0.1:${gatewayPort}`;
  // Nothing listens there yet: whatever answers below is the server this npm run dev started.
  expect(await isListening('127.0.0.1', temporalPort)).toBe(false);

  const first = await startDev(env);
  expect(first.banner).toContain(`Temporal      127.0.0.1:${temporalPort}`);
  expect(first.banner).toContain('started here, persisted to');
  const dispatched = await http(base, 'POST', '/v1/runs', { agent: 'docs-researcher', task: 'Does this run survive a restart?' }, DEV_KEY);
  expect(dispatched.status).toBe(202);
  const runId = dispatched.body.run_id as string;
  expect((await waitForRun(base, runId, 60_000, DEV_KEY)).status).toBe('completed');
  await first.interrupt();
  expect(first.output()).toContain('"message":"stopped"');
  await closed('127.0.0.1', temporalPort, 'its Temporal server');
  await closed('127.0.0.1', gatewayPort, 'the gateway');
  expect(existsSync(dbFile)).toBe(true);

  // The same database file: the run from before the restart is still there, with its output.
  const second = await startDev(env);
  expect(second.banner).toContain('started here, persisted to');
  const after = await http(base, 'GET', `/v1/runs/${runId}`, undefined, DEV_KEY);
  expect(after.status).toBe(200);
  expect(after.body).toMatchObject({ run_id: runId, status: 'completed' });
  expect((after.body.output as { evidence: unknown[] }).evidence.length).toBeGreaterThan(0);
  await second.interrupt();
  await closed('127.0.0.1', temporalPort, 'its Temporal server');
});

// Runs the built gateway script: builds dist/ itself unless an npm run dev in this file already did.
test('npm run start:gateway refuses to start without credentials, then drains in-flight requests on SIGTERM', async () => {
  ensureBuilt();
  const { address } = testTemporal();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'acp-gw-'));
  try {
    const port = await freePort();
    const env = {
      ...process.env,
      TEMPORAL_ADDRESS: address,
      GATEWAY_PORT: String(port),
      TEMPORAL_TASK_QUEUE: uniqueQueue('gw'),
      LOG_FORMAT: 'json',
      GOVERNANCE_PGLITE_DIR: path.join(dir, 'governance'),
    };
    const script = path.join(PROJECT_ROOT, 'dist', 'scripts', 'start-gateway.js');

    const refused = spawnSync(process.execPath, [script], { env, encoding: 'utf8', timeout: 30_000 });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('accepts no credentials');

    const keys = path.join(dir, 'keys.yaml');
    writeFileSync(keys, `keys:\n  - sha256: ${hashApiKey('shutdown-key')}\n    subject: ops\n    tenant: acme\n    roles: [dispatcher]\n`);
    const gw = spawn(process.execPath, [script], { env: { ...env, AUTH_API_KEYS_FILE: keys }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    gw.stdout.on('data', (d: Buffer) => (out += d.toString()));
    gw.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => gw.once('exit', (code) => resolve(code)));
    await eventually(async () => (out.includes('gateway listening') ? true : undefined), 120_000, 'the gateway to listen');

    // A request in flight: headers and half the body sent, the rest after SIGTERM.
    const body = JSON.stringify({ agent: 'docs-researcher', task: 'in flight during shutdown' });
    const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/v1/runs',
          headers: { authorization: 'Bearer shutdown-key', 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      // The headers and half the body, flushed, and a moment for the gateway to read them (it logs a
      // request only once it answers it, so there is nothing to wait on); then SIGTERM.
      req.write(body.slice(0, 10), () => {
        setTimeout(() => {
          gw.kill('SIGTERM');
          // The listener closes while the request is still open; the rest of the body follows.
          closed('127.0.0.1', port, 'the gateway').then(
            () => req.end(body.slice(10)),
            (err: unknown) => reject(err instanceof Error ? err : new Error(String(err))),
          );
        }, 300);
      });
    });
    const res = await answer;
    expect(res.status).toBe(202);
    expect(await exited).toBe(0);
    expect(out).toContain('finishing in-flight requests');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
