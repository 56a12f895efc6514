import { randomBytes } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import { Pool } from 'pg';
import { GovernanceStore, migrate, pgliteSql, pgSql, type Sql } from '../../governance/store';

/** The machine's PostgreSQL (trust auth, database `test`). */
export const PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestStore {
  store: GovernanceStore;
  sql: Sql;
  /** Migrations applied when it was opened. */
  applied: string[];
  /** Closes the store and drops what it created. */
  close(): Promise<void>;
}

/**
 * A governance store of the caller's own, migrated: on PostgreSQL in a fresh schema (dropped by
 * close()), or in an in-memory PGlite. Tests never see each other's rows.
 */
export async function openTestStore(kind: 'postgres' | 'pglite' = 'postgres'): Promise<TestStore> {
  if (kind === 'pglite') {
    const sql = pgliteSql(await PGlite.create());
    const applied = await migrate(sql);
    const store = new GovernanceStore(sql);
    return { store, sql, applied, close: () => store.close() };
  }
  const schema = `acp_test_${randomBytes(6).toString('hex')}`;
  const admin = new Pool({ connectionString: PG_URL, max: 1 });
  await admin.query(`CREATE SCHEMA ${schema}`);
  const sql = pgSql(new Pool({ connectionString: PG_URL, max: 8, options: `-c search_path=${schema}` }));
  const applied = await migrate(sql);
  const store = new GovernanceStore(sql);
  return {
    store,
    sql,
    applied,
    async close() {
      await store.close();
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.end();
    },
  };
}
