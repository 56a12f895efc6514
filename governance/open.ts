import { mkdirSync } from 'node:fs';
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
    mkdirSync(settings.governance.pgliteDir, { recursive: true });
    sql = pgliteSql(await PGlite.create(settings.governance.pgliteDir));
  }
  await migrate(sql);
  return new GovernanceStore(sql);
}
