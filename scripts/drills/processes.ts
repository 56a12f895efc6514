// Platform processes a drill (or a test) starts and kills: `node dist/scripts/…` with captured output,
// and a poll-until helper.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../config/settings';
import { hashApiKey } from '../../gateway/auth';
import { freePort } from '../../temporal/dev-server';

/** Polls fn until it returns a value (not undefined) or the timeout passes. */
export async function eventually<T>(fn: () => Promise<T | undefined>, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await fn();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
}

/** A platform process (node dist/scripts/…) whose output the caller reads. */
export interface Proc {
  child: ChildProcess;
  output(): string;
  /** Resolves when a line of output contains `text`. */
  waitFor(text: string, timeoutMs?: number): Promise<void>;
  /** Resolves with the exit code (or signal) once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
  /** SIGKILLs it if it is still running (clean-up). */
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

/** Where a worker and a gateway process connect, and the files of their own. */
export interface PlatformTarget {
  address: string;
  namespace: string;
  taskQueue: string;
  /** The folder for the key file, tickets, blobs and the embedded store. */
  dir: string;
}

/**
 * The environment of a worker and a gateway process pointed at one Temporal and one queue, with an API
 * key (for principal `ops` of tenant acme, every role a drill needs) and ports of their own.
 */
export async function platformEnv(
  t: PlatformTarget,
  extra: NodeJS.ProcessEnv = {},
): Promise<{ env: NodeJS.ProcessEnv; port: number; key: string }> {
  const key = `key-${randomBytes(8).toString('hex')}`;
  const keys = path.join(t.dir, 'keys.yaml');
  writeFileSync(
    keys,
    `keys:\n  - sha256: ${hashApiKey(key)}\n    subject: ops\n    tenant: acme\n    roles: [dispatcher, approver, operator, auditor]\n`,
  );
  const port = await freePort();
  const env = {
    ...process.env,
    TEMPORAL_ADDRESS: t.address,
    TEMPORAL_NAMESPACE: t.namespace,
    TEMPORAL_TASK_QUEUE: t.taskQueue,
    GATEWAY_PORT: String(port),
    // Workers started side by side: each gets its own metrics ports.
    WORKER_METRICS_PORT: String(await freePort()),
    TEMPORAL_SDK_METRICS_ADDRESS: `127.0.0.1:${await freePort()}`,
    AUTH_API_KEYS_FILE: keys,
    GOVERNANCE_PGLITE_DIR: path.join(t.dir, 'governance'),
    TICKETS_FILE: path.join(t.dir, 'tickets.jsonl'),
    MCP_MEMORY_FILE: path.join(t.dir, 'memory.jsonl'),
    BLOB_DIR: path.join(t.dir, 'blobs'),
    LOG_FORMAT: 'json',
    LOG_LEVEL: 'info',
    ...extra,
  };
  return { env, port, key };
}
