import { randomBytes } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import { Pool } from 'pg';
import { GovernanceStore, migrate, pgliteSql, pgSql, type Sql } from '../../governance/store';

// The same SQL against the machine's PostgreSQL (in a schema of this test's own, dropped at the end)
// and against the embedded PGlite.
const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';

const backends: [string, () => Promise<{ sql: Sql; cleanup: () => Promise<void> }>][] = [
  [
    'PostgreSQL',
    async () => {
      const schema = `acp_test_${randomBytes(6).toString('hex')}`;
      const admin = new Pool({ connectionString: PG_URL, max: 1 });
      await admin.query(`CREATE SCHEMA ${schema}`);
      const pool = new Pool({ connectionString: PG_URL, max: 4, options: `-c search_path=${schema}` });
      return {
        sql: pgSql(pool),
        cleanup: async () => {
          await admin.query(`DROP SCHEMA ${schema} CASCADE`);
          await admin.end();
        },
      };
    },
  ],
  ['PGlite', async () => ({ sql: pgliteSql(await PGlite.create()), cleanup: async () => undefined })],
];

describe.each(backends)('governance store on %s', (_name, open) => {
  let store: GovernanceStore;
  let sql: Sql;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ sql, cleanup } = await open());
    expect(await migrate(sql)).toEqual(['001_audit_ledger.sql']);
    expect(await migrate(sql)).toEqual([]);
    store = new GovernanceStore(sql);
  });
  afterAll(async () => {
    await store.close();
    await cleanup();
  });

  test('appends rows and lists them per tenant, newest first, filtered by run, principal and time', async () => {
    const start = new Date(Date.now() - 1000).toISOString();
    await store.append({
      tenant: 'acme',
      principal: 'ann',
      action: 'dispatch',
      outcome: 'accepted',
      reason: 'rule x',
      rule: 'x',
      run_id: 'run-1',
      details: { agent: 'a' },
    });
    await store.append({
      tenant: 'acme',
      principal: 'bob',
      action: 'dispatch',
      outcome: 'denied',
      reason: 'no rule allows dispatch',
      rule: 'default-deny',
    });
    await store.append({ tenant: 'globex', principal: 'gus', action: 'dispatch', outcome: 'accepted', reason: 'ok', run_id: 'run-2' });
    const acme = await store.list({ tenant: 'acme' });
    expect(acme.map((r) => [r.principal, r.outcome])).toEqual([
      ['bob', 'denied'],
      ['ann', 'accepted'],
    ]);
    expect(acme[1]).toMatchObject({ rule: 'x', run_id: 'run-1', details: { agent: 'a' } });
    expect((await store.list({ tenant: 'acme', run_id: 'run-1' })).map((r) => r.principal)).toEqual(['ann']);
    expect((await store.list({ tenant: 'acme', principal: 'bob' })).map((r) => r.outcome)).toEqual(['denied']);
    expect(await store.list({ tenant: 'acme', until: start })).toEqual([]);
    expect((await store.list({ tenant: 'globex' })).map((r) => r.principal)).toEqual(['gus']);
  });

  test('the ledger is append-only: updates and deletes are refused', async () => {
    await expect(sql.query("UPDATE audit_ledger SET reason = 'rewritten'")).rejects.toThrow(/append-only/);
    await expect(sql.query('DELETE FROM audit_ledger')).rejects.toThrow(/append-only/);
    expect((await store.list({ tenant: 'acme' })).every((r) => r.reason !== 'rewritten')).toBe(true);
  });
});
