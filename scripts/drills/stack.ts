// What a drill runs against, started by the drill: a dev server persisted to a file (so it can be
// restarted on the same file), the governance store on PostgreSQL in a schema of its own, and the worker
// and the gateway as separate processes (node dist/scripts/start-*.js), as an operator runs them.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import { loadSettings, type Settings } from '../../config/settings';
import { resolveTemporalCli } from '../../temporal/cli';
import { freePort, startDevServer, type DevServer } from '../../temporal/dev-server';
import { eventually, platformEnv, spawnScript, type Proc } from './processes';

/** A run's status as the gateway reports it. */
export type RunStatus = 'running' | 'completed' | 'failed' | 'cancelled' | 'missing';

/** What each drill prints: runs dispatched, completed, lost, and effects that happened twice. */
export interface DrillResult {
  drill: string;
  dispatched: number;
  completed: number;
  lost: number;
  duplicated: number;
  notes: string[];
}

/** The run ids of the dispatches the gateway accepted (a refused one is `undefined`). */
export const accepted = (ids: (string | undefined)[]): string[] => ids.filter((id): id is string => id !== undefined);

/**
 * A drill's result from the runs it dispatched and how they ended: lost is every run that did not
 * complete plus any effect or audit row that is `missing`; `duplicated` counts effects or rows seen twice.
 */
export function drillResult(
  drill: string,
  runIds: string[],
  counts: Record<RunStatus, number>,
  o: { missing?: number; duplicated?: number; notes: string[] },
): DrillResult {
  return {
    drill,
    dispatched: runIds.length,
    completed: counts.completed,
    lost: runIds.length - counts.completed + (o.missing ?? 0),
    duplicated: o.duplicated ?? 0,
    notes: o.notes,
  };
}

/** A headless dev server on a free port, persisted to a file in `dir` so it can restart on it. */
async function drillServerOptions(dir: string, searchAttributes: Settings['searchAttributes']) {
  return {
    cliPath: resolveTemporalCli({ install: false }).path,
    ip: '127.0.0.1',
    port: await freePort(),
    uiPort: 0,
    namespace: 'default',
    headless: true,
    dbFile: path.join(dir, 'temporal.db'),
    logFile: path.join(dir, 'temporal-dev-server.log'),
    searchAttributes,
  };
}

/** The worker's and gateway's environment: the drill's store, a task queue of its own, limits it never reaches. */
function drillPlatformEnv(address: string, dir: string, storeUrl: string) {
  return platformEnv(
    { address, namespace: 'default', taskQueue: `drill-${randomBytes(4).toString('hex')}`, dir },
    {
      GOVERNANCE_DATABASE_URL: storeUrl,
      RATE_LIMIT_PRINCIPAL_PER_MINUTE: '100000',
      RATE_LIMIT_TENANT_PER_MINUTE: '100000',
      QUOTA_CONCURRENT_RUNS: '100000',
    },
  );
}

/** A schema of its own on the drill's PostgreSQL, and the store URL whose search_path is that schema. */
async function drillSchema(pgUrl: string) {
  const schema = `acp_drill_${randomBytes(6).toString('hex')}`;
  const admin = new Pool({ connectionString: pgUrl, max: 1 });
  await admin.query(`CREATE SCHEMA ${schema}`);
  const storeUrl = `${pgUrl}?application_name=${schema}&options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  return { schema, admin, storeUrl };
}

/** JSON requests to the gateway with the drill's key, and a run's status as it reports it. */
function gatewayClient(base: string, key: string) {
  const api = async (method: string, route: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}${route}`, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json().catch(() => ({}))) as Record<string, unknown> };
  };
  const status = async (runId: string): Promise<RunStatus> => {
    const res = await api('GET', `/v1/runs/${runId}`);
    return res.status === 404 ? 'missing' : (res.body.status as RunStatus);
  };
  return { api, status };
}

/** Waits until every run has ended (or the timeout passes) and counts how each ended. */
async function settle(status: (runId: string) => Promise<RunStatus>, runIds: string[], timeoutMs: number) {
  const ended = new Map<string, RunStatus>();
  await eventually(
    async () => {
      for (const id of runIds) {
        if (ended.has(id)) continue;
        const s = await status(id).catch(() => 'running' as const);
        if (s !== 'running') ended.set(id, s);
      }
      return ended.size === runIds.length ? true : undefined;
    },
    timeoutMs,
    `${runIds.length} runs to end`,
  ).catch(() => undefined);
  const counts: Record<RunStatus, number> = { running: 0, completed: 0, failed: 0, cancelled: 0, missing: 0 };
  for (const id of runIds) counts[ended.get(id) ?? 'running'] += 1;
  return counts;
}

/** The tickets a tickets.jsonl holds, counted by run id. */
function ticketsByRun(file: string): Map<string, number> {
  const byRun = new Map<string, number>();
  if (!existsSync(file)) return byRun;
  for (const line of readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
    const t = JSON.parse(line) as { run_id: string };
    byRun.set(t.run_id, (byRun.get(t.run_id) ?? 0) + 1);
  }
  return byRun;
}

export type Stack = Awaited<ReturnType<typeof startStack>>;

/** Starts the dev server, the store's schema, one worker and one gateway. */
export async function startStack(o: { databaseUrl?: string; log?: (m: string) => void } = {}) {
  const log = o.log ?? (() => undefined);
  const dir = mkdtempSync(path.join(process.env.TEST_TMP_DIR ?? os.tmpdir(), 'acp-drill-'));
  const serverOptions = await drillServerOptions(dir, loadSettings({}).searchAttributes);
  let server: DevServer = await startDevServer(serverOptions);
  const pgUrl = o.databaseUrl ?? process.env.DRILL_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const { schema, admin, storeUrl } = await drillSchema(pgUrl);
  const platform = await drillPlatformEnv(server.address, dir, storeUrl);
  let env = platform.env;
  const { port: gatewayPort, key } = platform;
  const procs: Proc[] = [];
  const start = async (name: 'start-worker' | 'start-gateway') => {
    const p = spawnScript(name, env);
    procs.push(p);
    await p.waitFor(name === 'start-worker' ? 'worker polling' : 'gateway listening', 60_000);
    log(`${name} up (pid ${p.child.pid})`);
    return p;
  };
  let worker = await start('start-worker');
  let gateway = await start('start-gateway');
  const { api, status } = gatewayClient(`http://127.0.0.1:${gatewayPort}`, key);

  return {
    dir,
    get env() {
      return env;
    },
    admin,
    schema,
    /** The store's URL the worker and the gateway connect to (GOVERNANCE_DATABASE_URL). */
    storeUrl,
    api,
    status,
    get worker() {
      return worker;
    },
    get gateway() {
      return gateway;
    },
    /** SIGKILLs the worker (if still running) and starts a new one. */
    async restartWorker(signal: NodeJS.Signals = 'SIGKILL') {
      if (worker.alive()) worker.child.kill(signal);
      await worker.exited;
      worker = await start('start-worker');
    },
    /** Stops the gateway with `signal` and starts a new one on the same port. */
    async restartGateway(signal: NodeJS.Signals = 'SIGTERM') {
      if (gateway.alive()) gateway.child.kill(signal);
      await gateway.exited;
      gateway = await start('start-gateway');
    },
    /**
     * Restarts the worker and the gateway (same ports) with `extra` added to their environment: a drill
     * that needs other agents (AGENTS_DIR), endpoints or a store URL of its own.
     */
    async restartWith(extra: NodeJS.ProcessEnv) {
      env = { ...env, ...extra };
      // Nothing is in flight yet (a drill calls this first): no drain to wait for.
      for (const p of [worker, gateway]) p.kill();
      await Promise.all([worker.exited, gateway.exited]);
      [worker, gateway] = await Promise.all([start('start-worker'), start('start-gateway')]);
    },
    /** Stops the dev server and starts it again on the same file and port. */
    async restartServer(downMs = 2000) {
      await server.stop();
      await new Promise((r) => setTimeout(r, downMs));
      server = await startDevServer(serverOptions);
    },
    /** Dispatches a run; its id, or undefined when the gateway did not accept it. */
    async dispatch(agent: string, task: string, context: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
      const res = await api('POST', '/v1/runs', { agent, task, context }, headers);
      return res.status === 202 || res.status === 200 ? (res.body.run_id as string) : undefined;
    },
    /** Waits until every run has ended (or the timeout passes) and counts how each ended. */
    settle: (runIds: string[], timeoutMs = 120_000) => settle(status, runIds, timeoutMs),
    /** The tickets filed, by run id. */
    tickets: () => ticketsByRun(path.join(dir, 'tickets.jsonl')),
    async stop() {
      procs.forEach((p) => p.kill());
      await Promise.all(procs.map((p) => p.exited));
      await server.stop();
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.end();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
