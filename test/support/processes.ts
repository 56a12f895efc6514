import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Pool } from 'pg';
import { PROJECT_ROOT } from '../../config/settings';
import { hashApiKey } from '../../gateway/auth';
import { freePort } from '../../temporal/dev-server';
import { PG_URL } from './governance';
import { eventually, testTemporal, uniqueQueue } from './platform';

/**
 * Builds dist/ once per test run when it is missing or older than the sources (the start scripts do not
 * build). A lock in the run's temporary folder keeps two test files from building at the same time.
 */
export async function ensureBuilt(): Promise<void> {
  const fresh = () => spawnSync(process.execPath, ['scripts/require-build.mjs'], { cwd: PROJECT_ROOT }).status === 0;
  const done = path.join(process.env.TEST_TMP_DIR!, 'dist-built');
  try {
    mkdirSync(`${done}.lock`);
  } catch {
    await eventually(async () => (existsSync(done) ? true : undefined), 180_000, 'the other test file to build dist/');
    const failure = readFileSync(done, 'utf8');
    if (failure) throw new Error(failure);
    return;
  }
  let failure = '';
  if (!fresh()) {
    const build = spawnSync('npm', ['run', 'build', '--silent'], { cwd: PROJECT_ROOT, encoding: 'utf8' });
    if (build.status !== 0) failure = `npm run build failed:\n${build.stdout}${build.stderr}`;
  }
  writeFileSync(done, failure);
  if (failure) throw new Error(failure);
}

/** A platform process (node dist/scripts/…) whose output the test reads. */
export interface Proc {
  child: ChildProcess;
  output(): string;
  /** Resolves when a line of output contains `text`. */
  waitFor(text: string, timeoutMs?: number): Promise<void>;
  /** Resolves with the exit code (or signal) once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
  /** SIGKILLs it if it is still running (test clean-up). */
  kill(): void;
}

/** Spawns `command args` in the project folder and captures its output. */
export function spawnProc(command: string, args: string[], env: NodeJS.ProcessEnv): Proc {
  const child = spawn(command, args, { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    child,
    output: () => out,
    exited,
    alive,
    async waitFor(text, timeoutMs = 240_000) {
      await eventually(
        async () => {
          if (out.includes(text)) return true;
          if (!alive()) throw new Error(`exited before "${text}":\n${out}`);
          return undefined;
        },
        timeoutMs,
        `"${text}" in the output of ${args.join(' ')}:\n${out.slice(-2000)}`,
      );
    },
    kill() {
      if (alive()) child.kill('SIGKILL');
    },
  };
}

/** Spawns a built entry point, `node dist/scripts/<name>.js`, as an operator would. */
export function spawnScript(name: 'start-worker' | 'start-gateway', env: NodeJS.ProcessEnv): Proc {
  return spawnProc(process.execPath, [path.join('dist', 'scripts', `${name}.js`)], env);
}

/** The environment of a worker and a gateway of one test: the suite's Temporal, its own queue, files and key. */
export async function processEnv(
  dir: string,
  extra: NodeJS.ProcessEnv = {},
): Promise<{ env: NodeJS.ProcessEnv; port: number; key: string }> {
  const { address, namespace } = testTemporal();
  const key = `key-${randomBytes(8).toString('hex')}`;
  const keys = path.join(dir, 'keys.yaml');
  writeFileSync(
    keys,
    `keys:\n  - sha256: ${hashApiKey(key)}\n    subject: ops\n    tenant: acme\n    roles: [dispatcher, approver, operator, auditor]\n`,
  );
  const port = await freePort();
  const env = {
    ...process.env,
    TEMPORAL_ADDRESS: address,
    TEMPORAL_NAMESPACE: namespace,
    TEMPORAL_TASK_QUEUE: uniqueQueue('proc'),
    GATEWAY_PORT: String(port),
    // Tests start workers side by side: each gets its own metrics ports.
    WORKER_METRICS_PORT: String(await freePort()),
    TEMPORAL_SDK_METRICS_ADDRESS: `127.0.0.1:${await freePort()}`,
    AUTH_API_KEYS_FILE: keys,
    GOVERNANCE_PGLITE_DIR: path.join(dir, 'governance'),
    TICKETS_FILE: path.join(dir, 'tickets.jsonl'),
    MCP_MEMORY_FILE: path.join(dir, 'memory.jsonl'),
    BLOB_DIR: path.join(dir, 'blobs'),
    LOG_FORMAT: 'json',
    LOG_LEVEL: 'info',
    ...extra,
  };
  return { env, port, key };
}

/** A scratch folder under the test run's temporary folder. */
export function scratchDir(prefix: string): string {
  return mkdtempSync(path.join(process.env.TEST_TMP_DIR!, `${prefix}-`));
}

/** A PostgreSQL schema of the test's own, and URLs whose connections use it and carry `<schema>_<app>` as application_name. */
export async function pgSchema(): Promise<{ url: (app: string) => string; schema: string; admin: Pool; drop(): Promise<void> }> {
  const schema = `acp_test_${randomBytes(6).toString('hex')}`;
  const admin = new Pool({ connectionString: PG_URL, max: 1 });
  await admin.query(`CREATE SCHEMA ${schema}`);
  const url = (app: string) => `${PG_URL}?application_name=${schema}_${app}&options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  return {
    url,
    schema,
    admin,
    async drop() {
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.end();
    },
  };
}
