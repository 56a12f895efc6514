import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../config/settings';
import { eventually } from '../support/platform';
import { ensureBuilt, pgSchema, processEnv, scratchDir, spawnProc, type Proc } from '../support/processes';

// Issue #9, point 7: a supervisor's SIGTERM to `npm run start:*` must reach node (npm runs the script's
// one `node …` command, which the shell execs), and starting the worker and the gateway together must
// not rebuild dist/ under each other (the start scripts do not build; they say when dist/ needs it).
jest.setTimeout(360_000);

const procs: Proc[] = [];
let dir: string;
let dropSchema: (() => Promise<void>) | undefined;
afterAll(async () => {
  procs.forEach((p) => p.kill());
  rmSync(dir, { recursive: true, force: true });
  await dropSchema?.();
});

/** The pids of a process's descendants (from /proc), so the test can find the node under npm. */
function descendants(pid: number): { pid: number; cmd: string }[] {
  const out = execFileSync('ps', ['-e', '-o', 'pid=,ppid=,args='], { encoding: 'utf8' });
  const rows = out
    .trim()
    .split('\n')
    .map((l) => l.trim().match(/^(\d+)\s+(\d+)\s+(.*)$/)!)
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), cmd: m[3]! }));
  const found: { pid: number; cmd: string }[] = [];
  const walk = (parent: number) => rows.filter((r) => r.ppid === parent).forEach((r) => (found.push(r), walk(r.pid)));
  walk(pid);
  return found;
}

/** Whether a process exists and is not a zombie waiting to be reaped. */
function running(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

test('npm run start:worker and start:gateway start together without a build, and SIGTERM to npm stops node', async () => {
  await ensureBuilt();
  dir = scratchDir('npm-signals');
  const built = statSync(path.join(PROJECT_ROOT, 'dist', 'scripts', 'start-worker.js')).mtimeMs;
  // Both processes use one store, as in production: PostgreSQL (the embedded one is one process's).
  const db = await pgSchema();
  dropSchema = () => db.drop();
  const { env } = await processEnv(dir, { GOVERNANCE_DATABASE_URL: db.url('npm') });
  const worker = spawnProc('npm', ['run', 'start:worker'], env);
  const gateway = spawnProc('npm', ['run', 'start:gateway'], env);
  procs.push(worker, gateway);
  await Promise.all([worker.waitFor('worker polling'), gateway.waitFor('gateway listening')]);
  expect(statSync(path.join(PROJECT_ROOT, 'dist', 'scripts', 'start-worker.js')).mtimeMs).toBe(built);

  for (const [npm, entry] of [
    [worker, 'dist/scripts/start-worker.js'],
    [gateway, 'dist/scripts/start-gateway.js'],
  ] as const) {
    // The deepest process running the entry point: node itself, not a shell that would wrap it.
    const node = descendants(npm.child.pid!)
      .filter((d) => d.cmd.includes(entry))
      .pop();
    expect(node?.cmd).toMatch(/^\S*node /);
    expect(node).toBeDefined();
    npm.child.kill('SIGTERM');
    // Node itself stopped (not only npm), and cleanly.
    await eventually(async () => (running(node!.pid) ? undefined : true), 60_000, `${entry} (pid ${node!.pid}) to exit`);
    // npm ends by the signal it forwarded (or 0); node's clean stop shows in its log below.
    const npmExit = await npm.exited;
    expect(npmExit.code === 0 || npmExit.signal === 'SIGTERM').toBe(true);
  }
  expect(worker.output()).toContain('worker stopped');
  expect(gateway.output()).toContain('gateway stopped');
});

test('a start on a missing or stale dist/ stops with what to run', () => {
  // The check on a project of its own: a source file, and a dist/ that is missing, then older, then newer.
  const root = mkdtempSync(path.join(process.env.TEST_TMP_DIR!, 'require-build-'));
  mkdirSync(path.join(root, 'scripts'));
  for (const f of ['require-build.mjs', 'build-freshness.mjs'])
    copyFileSync(path.join(PROJECT_ROOT, 'scripts', f), path.join(root, 'scripts', f));
  writeFileSync(path.join(root, 'scripts', 'start-worker.ts'), '');
  const check = () => spawnSync(process.execPath, [path.join(root, 'scripts', 'require-build.mjs')], { encoding: 'utf8' });

  const missing = check();
  expect(missing.status).toBe(1);
  expect(missing.stderr).toContain('dist/scripts/start-worker.js is missing: run `npm run build` first');

  mkdirSync(path.join(root, 'dist', 'scripts'), { recursive: true });
  for (const f of ['start-worker.js', 'start-gateway.js']) writeFileSync(path.join(root, 'dist', 'scripts', f), '');
  const past = new Date(Date.now() - 60_000);
  utimesSync(path.join(root, 'dist', 'scripts', 'start-worker.js'), past, past);
  const stale = check();
  expect(stale.status).toBe(1);
  expect(stale.stderr).toContain('dist/scripts/start-worker.js is older than scripts/start-worker.ts: run `npm run build` first');

  utimesSync(path.join(root, 'dist', 'scripts', 'start-worker.js'), new Date(), new Date());
  expect(check().status).toBe(0);
});
