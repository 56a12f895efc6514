import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Pool } from 'pg';
import { ConfigError, type Settings } from '../config/settings';
import type { Logger } from '../observability/logger';
import { GovernanceStore, migrate, pgliteSql, pgSql, type Sql } from './store';

/** Who opens the store: its connections carry the name (pg_stat_activity), its connection losses go to the log. */
export interface OpenOptions {
  /** The PostgreSQL application_name of the pool's connections (a URL's own application_name wins). */
  applicationName?: string;
  logger?: Pick<Logger, 'warn'>;
}

/**
 * Opens the governance store the settings name — PostgreSQL (GOVERNANCE_DATABASE_URL) or the embedded
 * PGlite folder — and brings its schema up to date.
 */
export async function openGovernanceStore(settings: Settings, options: OpenOptions = {}): Promise<GovernanceStore> {
  const url = settings.governance.databaseUrl;
  if (url) {
    const sql = pgSql(postgresPool(url, options));
    try {
      await migrate(sql);
    } catch (err) {
      await sql.close().catch(() => undefined);
      throw unreachable(url, err);
    }
    return new GovernanceStore(sql);
  }
  const dir = settings.governance.pgliteDir;
  mkdirSync(dir, { recursive: true });
  const unlock = lockEmbedded(dir);
  let sql: Sql;
  try {
    const embedded = pgliteSql(await PGlite.create(dir));
    sql = {
      ...embedded,
      close: async () => {
        await embedded.close();
        unlock();
      },
    };
  } catch (err) {
    unlock();
    throw err;
  }
  await migrate(sql);
  return new GovernanceStore(sql);
}

/**
 * A pool that survives its connections being dropped (a database restart or failover, an idle-connection
 * reaper, pg_terminate_backend): pg reports an idle client's loss as an 'error' event on the pool, which
 * without a listener is an uncaught error that ends the process. The pool has already discarded that
 * client, so the next query opens a fresh connection; a query in flight fails and is retried by its caller.
 */
function postgresPool(url: string, options: OpenOptions): Pool {
  const pool = new Pool({
    connectionString: url,
    max: 5,
    // A statement stuck on a lock fails (and its activity retries) well within the 30 s activity timeout.
    statement_timeout: 10_000,
    // An unreachable host fails a query after 5 s instead of waiting for the operating system's TCP timeout.
    connectionTimeoutMillis: 5_000,
    ...(options.applicationName ? { application_name: options.applicationName } : {}),
  });
  pool.on('error', (err) => {
    const warn = options.logger?.warn.bind(options.logger) ?? ((m: string, meta: object) => console.warn(m, meta));
    warn('governance store connection lost; the next query reconnects', { error: err.message });
  });
  return pool;
}

/** The start-up error for a database that cannot be used, naming the setting and what to check. */
function unreachable(url: string, err: unknown): ConfigError {
  let where = 'the URL';
  try {
    const u = new URL(url);
    where = `${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    // The settings accept only postgres:// URLs; one pg can parse but URL cannot is named as "the URL".
  }
  // A host name with several addresses fails with an AggregateError whose own message is empty.
  const causes = err instanceof AggregateError ? (err.errors as unknown[]) : [err];
  const reason = causes.map((e) => (e instanceof Error ? e.message || e.name : String(e))).join('; ');
  return new ConfigError(
    `GOVERNANCE_DATABASE_URL (${where}): cannot open the governance store: ${reason}. ` +
      'Check that PostgreSQL is running and reachable there, and that the database, user and password in the URL are right.',
  );
}

/**
 * The embedded store is one process's: two processes opening one PGlite folder would corrupt it. A lock
 * file with the owner's pid refuses a second process (a lock whose process is gone is taken over).
 */
function lockEmbedded(dir: string): () => void {
  const file = path.join(dir, 'acp.lock');
  // Created exclusively ('wx'), so two processes starting together cannot both take it. A second open
  // in the same process is refused too: share the first store instead.
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw lockError(dir, file, err);
    }
    const owner = Number(readFileSync(file, 'utf8').trim()) || undefined;
    // No pid yet: its owner is between creating and writing it.
    if (owner === undefined || alive(owner)) throw lockError(dir, file, owner ?? 'a lock being written');
    // The owner is gone: remove its lock and try once more (a racing process may win; then we stop).
    rmSync(file, { force: true });
  }
}

function lockError(dir: string, file: string, cause: unknown): Error {
  const who = typeof cause === 'number' ? `process ${cause}` : `another process (${file}: ${String(cause)})`;
  return new Error(
    `the embedded governance store ${dir} is open in ${who}; one process at a time can use it. ` +
      'Run the worker and the gateway in one process (npm run dev), or point every process at PostgreSQL with GOVERNANCE_DATABASE_URL.',
  );
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
