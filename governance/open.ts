import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Pool } from 'pg';
import type { Settings } from '../config/settings';
import { GovernanceStore, migrate, pgliteSql, pgSql, type Sql } from './store';

/**
 * Opens the governance store the settings name — PostgreSQL (GOVERNANCE_DATABASE_URL) or the embedded
 * PGlite folder — and brings its schema up to date.
 */
export async function openGovernanceStore(settings: Settings): Promise<GovernanceStore> {
  let sql: Sql;
  if (settings.governance.databaseUrl) {
    // A statement stuck on a lock fails (and its activity retries) well within the 30 s activity timeout.
    sql = pgSql(new Pool({ connectionString: settings.governance.databaseUrl, max: 5, statement_timeout: 10_000 }));
  } else {
    const dir = settings.governance.pgliteDir;
    mkdirSync(dir, { recursive: true });
    const unlock = lockEmbedded(dir);
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
  }
  await migrate(sql);
  return new GovernanceStore(sql);
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
