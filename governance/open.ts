import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
    sql = pgSql(new Pool({ connectionString: settings.governance.databaseUrl, max: 5 }));
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
  // (A second open in the same process is refused too: share the first store instead.)
  let owner: number | undefined;
  try {
    owner = Number(readFileSync(file, 'utf8').trim()) || undefined;
  } catch {
    // no lock yet
  }
  if (owner !== undefined && alive(owner)) {
    throw new Error(
      `the embedded governance store ${dir} is open in process ${owner}; one process at a time can use it. ` +
        'Run the worker and the gateway in one process (npm run dev), or point every process at PostgreSQL with GOVERNANCE_DATABASE_URL.',
    );
  }
  writeFileSync(file, String(process.pid));
  return () => rmSync(file, { force: true });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
