import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../config/settings';
import { freePort, isListening } from '../../temporal/dev-server';
import { hashApiKey } from '../../gateway/auth';
import { eventually, http, testTemporal, uniqueQueue, waitForRun } from '../support/platform';

// `npm run dev` as a newcomer uses it: build, start, print a curl, serve it, stop on Ctrl-C. It points
// at the test run's dev server (the "reuse a server already listening" path), so the suite still
// starts Temporal once; persistence across restarts is the --db-filename flag, tested in the unit tests.
jest.setTimeout(180_000);

let child: ChildProcess | undefined;
let tmp: string;
afterAll(() => {
  // Only if the test failed before its Ctrl-C: kill what is left of the process group.
  if (child?.pid && child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  rmSync(tmp, { recursive: true, force: true });
});

test('npm run dev serves the printed curl and Ctrl-C stops what it started', async () => {
  const { address } = testTemporal();
  const [ip, port] = address.split(':') as [string, string];
  const gatewayPort = await freePort();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'acp-dev-'));
  const proc = spawn('npm', ['run', 'dev'], {
    cwd: PROJECT_ROOT,
    detached: true, // its own process group, so the test can send SIGINT to all of it like a terminal's Ctrl-C
    env: {
      ...process.env,
      TEMPORAL_DEV_IP: ip,
      TEMPORAL_DEV_PORT: port,
      TEMPORAL_DEV_DB_FILE: path.join(tmp, 'dev.sqlite'),
      TEMPORAL_DEV_LOG_FILE: path.join(tmp, 'dev.log'),
      // Its data goes to this test's folder, never to the project's own .data/.
      GOVERNANCE_PGLITE_DIR: path.join(tmp, 'governance'),
      TICKETS_FILE: path.join(tmp, 'tickets.jsonl'),
      BLOB_DIR: path.join(tmp, 'blobs'),
      TEMPORAL_TASK_QUEUE: uniqueQueue('dev'),
      GATEWAY_PORT: String(gatewayPort),
      LOG_FORMAT: 'json',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = proc;
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  // 'close' waits for every process holding the output pipes (npm and the dev process under it).
  const exited = new Promise<void>((resolve) => proc.once('close', () => resolve()));

  const banner = await new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      if (out.includes('Ctrl-C stops everything')) {
        clearInterval(timer);
        resolve(out);
      } else if (proc.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`npm run dev exited early:\n${out}`));
      }
    }, 200);
  });
  expect(banner).toContain(`Gateway       http://127.0.0.1:${gatewayPort}`);
  expect(banner).toMatch(/Temporal CLI +temporal version \d+\.\d+\.\d+/);
  expect(banner).toContain('(reused)');

  const curl = banner.split('\n').find((l) => l.trim().startsWith('curl -s -X POST'));
  expect(curl).toBeDefined();
  const dispatched = JSON.parse(execFileSync('bash', ['-c', curl!.trim()], { encoding: 'utf8' })) as { run_id: string };
  expect(dispatched.run_id).toMatch(/^run-/);

  const base = `http://127.0.0.1:${gatewayPort}`;
  const run = await waitForRun(base, dispatched.run_id, 30_000, { authorization: 'Bearer dev-dispatcher-key' });
  expect(run.status).toBe('completed');
  expect((run.output as { evidence: unknown[] }).evidence.length).toBeGreaterThan(0);
  expect((await http(base, 'GET', '/healthz')).body).toEqual({ status: 'ok' });

  process.kill(-proc.pid!, 'SIGINT');
  await exited;
  expect(out).toContain('"message":"stopped"');
  expect(await isListening('127.0.0.1', gatewayPort)).toBe(false);
  // It reused the suite's server, so it must have left it running.
  expect(await isListening(ip, Number(port))).toBe(true);
});

// Runs after the test above, whose `npm run dev` built dist/.
test('npm run start:gateway refuses to start without credentials, then drains in-flight requests on SIGTERM', async () => {
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
    await eventually(async () => (out.includes('gateway listening') ? true : undefined), 30_000, 'the gateway to listen');

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
      req.write(body.slice(0, 10));
      setTimeout(() => {
        gw.kill('SIGTERM');
        setTimeout(() => {
          void isListening('127.0.0.1', port).then((listening) => {
            out += `\nlistening after SIGTERM: ${listening}\n`;
            req.end(body.slice(10));
          });
        }, 300);
      }, 300);
    });
    const res = await answer;
    expect(res.status).toBe(202);
    expect(out).toContain('listening after SIGTERM: false');
    expect(await exited).toBe(0);
    expect(out).toContain('finishing in-flight requests');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
