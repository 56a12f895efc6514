import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, closeSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import type { SearchAttributeType } from '../config/settings';
import { ensureSearchAttributes } from './register-search-attributes';

export interface DevServerOptions {
  cliPath: string;
  ip: string;
  port: number;
  uiPort: number;
  namespace: string;
  /** SQLite file the server persists to; omit for an in-memory server (tests). */
  dbFile?: string;
  logFile: string;
  /** No Web UI (tests). */
  headless?: boolean;
  searchAttributes: Record<string, SearchAttributeType>;
  readyTimeoutMs?: number;
}

/** A dev server this process is using: one it started (and stops) or one it found running. */
export interface DevServer {
  address: string;
  namespace: string;
  uiUrl: string | undefined;
  /** True when the server was already running and is left running on stop(). */
  reused: boolean;
  pid: number | undefined;
  stop(): Promise<void>;
}

/** The `temporal server start-dev` arguments for these options (exported so tests can check them). */
export function devServerArgs(o: DevServerOptions): string[] {
  const args = [
    'server',
    'start-dev',
    '--ip',
    o.ip,
    '--port',
    String(o.port),
    '--namespace',
    o.namespace,
    '--log-format',
    'json',
    '--log-level',
    'warn',
  ];
  if (o.dbFile) args.push('--db-filename', o.dbFile);
  if (o.headless) args.push('--headless');
  else args.push('--ui-port', String(o.uiPort), '--ui-disable-news-fetch');
  for (const [name, type] of Object.entries(o.searchAttributes)) args.push('--search-attribute', `${name}=${type}`);
  return args;
}

/** True when something accepts TCP connections on host:port. */
export function isListening(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (result: boolean) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Asks the OS for a free TCP port on host. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A throwaway dev server for a test run or a benchmark: in memory, on a free port, logging to `dir`;
 * headless unless `ui` asks for the Web UI (on another free port, its URL in `uiUrl`).
 */
export async function startScratchDevServer(o: {
  cliPath: string;
  dir: string;
  searchAttributes: Record<string, SearchAttributeType>;
  ui?: boolean;
}): Promise<DevServer> {
  return startDevServer({
    cliPath: o.cliPath,
    ip: '127.0.0.1',
    port: await freePort(),
    uiPort: o.ui ? await freePort() : 0,
    namespace: 'default',
    headless: !o.ui,
    logFile: path.join(o.dir, 'temporal-dev-server.log'),
    searchAttributes: o.searchAttributes,
  });
}

/** Waits until a Temporal frontend answers at address, or the deadline passes. */
export async function waitForTemporal(
  address: string,
  timeoutMs: number,
  isDead: () => string | undefined = () => undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  while (Date.now() < deadline) {
    const dead = isDead();
    if (dead) throw new Error(dead);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.workflowService.getSystemInfo({});
        return;
      } finally {
        await connection.close();
      }
    } catch (err) {
      lastError = (err as Error).message;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(`Temporal at ${address} did not become ready within ${timeoutMs} ms (${lastError})`);
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Starts `temporal server start-dev`, or reuses a Temporal server already listening on the port,
 * then makes sure the platform's search attributes exist in the namespace.
 */
export async function startDevServer(o: DevServerOptions): Promise<DevServer> {
  const address = `${o.ip}:${o.port}`;
  const uiUrl = o.headless ? undefined : `http://${o.ip === '0.0.0.0' ? '127.0.0.1' : o.ip}:${o.uiPort}`;
  const timeout = o.readyTimeoutMs ?? 60_000;

  if (await isListening(o.ip, o.port)) {
    try {
      await waitForTemporal(address, 5000);
    } catch (err) {
      throw new Error(
        `Port ${o.port} on ${o.ip} is in use by something that is not a Temporal server (${(err as Error).message}). Free it or set TEMPORAL_DEV_PORT.`,
        { cause: err },
      );
    }
    await registerSearchAttributes(address, o);
    return { address, namespace: o.namespace, uiUrl, reused: true, pid: undefined, stop: async () => undefined };
  }

  mkdirSync(path.dirname(o.logFile), { recursive: true });
  if (o.dbFile) mkdirSync(path.dirname(o.dbFile), { recursive: true });
  const logFd = openSync(o.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(o.cliPath, devServerArgs(o), { stdio: ['ignore', logFd, logFd] });
  } finally {
    closeSync(logFd);
  }
  let exit: string | undefined;
  child.once('exit', (code, signal) => {
    exit = `temporal server start-dev exited (code ${code}, signal ${signal}). Last lines of ${o.logFile}:\n${tail(o.logFile)}`;
  });
  child.once('error', (err) => {
    exit = `could not start ${o.cliPath}: ${err.message}`;
  });

  const stop = async (): Promise<void> => {
    if (exit !== undefined || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };

  try {
    await waitForTemporal(address, timeout, () => exit);
    await registerSearchAttributes(address, o);
  } catch (err) {
    await stop();
    throw err;
  }
  return { address, namespace: o.namespace, uiUrl, reused: false, pid: child.pid, stop };
}

async function registerSearchAttributes(address: string, o: DevServerOptions): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    await ensureSearchAttributes(connection, o.namespace, o.searchAttributes);
  } finally {
    await connection.close();
  }
}
