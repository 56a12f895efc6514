import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Pool } from 'pg';
import { PROJECT_ROOT } from '../../config/settings';
import { GovernanceStore, migrate, pgSql, type Sql } from '../../governance/store';
import { openTestStore, PG_URL, type TestStore } from '../support/governance';

/** The store a describe.each pass opened, read by the tests once its beforeAll has run. */
interface Opened {
  store: GovernanceStore;
  sql: Sql;
}

/** Rows appended, listed, kept append-only and deduplicated. */
function ledgerTests(s: Opened): void {
  test('appends rows and lists them per tenant, newest first, filtered by run, principal and time', async () => {
    const start = new Date(Date.now() - 1000).toISOString();
    await s.store.append({
      tenant: 'acme',
      principal: 'ann',
      action: 'dispatch',
      outcome: 'accepted',
      reason: 'rule x',
      rule: 'x',
      run_id: 'run-1',
      details: { agent: 'a' },
    });
    await s.store.append({
      tenant: 'acme',
      principal: 'bob',
      action: 'dispatch',
      outcome: 'denied',
      reason: 'no rule allows dispatch',
      rule: 'default-deny',
    });
    await s.store.append({ tenant: 'globex', principal: 'gus', action: 'dispatch', outcome: 'accepted', reason: 'ok', run_id: 'run-2' });
    const acme = await s.store.list({ tenant: 'acme' });
    expect(acme.map((r) => [r.principal, r.outcome])).toEqual([
      ['bob', 'denied'],
      ['ann', 'accepted'],
    ]);
    expect(acme[1]).toMatchObject({ rule: 'x', run_id: 'run-1', details: { agent: 'a' } });
    expect((await s.store.list({ tenant: 'acme', run_id: 'run-1' })).map((r) => r.principal)).toEqual(['ann']);
    expect((await s.store.list({ tenant: 'acme', principal: 'bob' })).map((r) => r.outcome)).toEqual(['denied']);
    expect(await s.store.list({ tenant: 'acme', until: start })).toEqual([]);
    expect((await s.store.list({ tenant: 'globex' })).map((r) => r.principal)).toEqual(['gus']);
  });

  test('the ledger is append-only: updates and deletes are refused', async () => {
    // A row of this test's own, so the refusals below have something to rewrite or delete.
    await s.store.append({ tenant: 'append-only', principal: 'ann', action: 'dispatch', outcome: 'accepted', reason: 'original' });
    await expect(s.sql.query("UPDATE audit_ledger SET reason = 'rewritten'")).rejects.toThrow(/append-only/);
    await expect(s.sql.query('DELETE FROM audit_ledger')).rejects.toThrow(/append-only/);
    expect((await s.store.list({ tenant: 'append-only' })).map((r) => r.reason)).toEqual(['original']);
  });

  test('a row with a dedupe key is appended once, however often an activity retries it', async () => {
    const row = {
      tenant: 'dedupe',
      principal: 'run',
      action: 'tool.write',
      outcome: 'done',
      reason: 'r',
      run_id: 'run-9',
      dedupe_key: 'run-9/3/tool.write',
    };
    await s.store.append(row);
    await s.store.append(row);
    await Promise.all([s.store.append(row), s.store.append(row)]);
    expect(await s.store.list({ tenant: 'dedupe' })).toHaveLength(1);
  });
}

const DAY = '2026-01-02';
/** A reservation on DAY for execution e1 of a run's step, against a daily cost limit ($1 unless given). */
const reserver =
  (s: Opened) =>
  (tenant: string, run_id: string, step: number, estimate_usd: number, limit = 1) =>
    s.store.reserve({
      tenant,
      run_id,
      execution: 'e1',
      step,
      day: DAY,
      estimate_usd,
      estimate_tokens: 100,
      limit: { daily_cost_usd: limit },
    });

/** Reservations against the daily limits: concurrent, idempotent, per day and per execution. */
function reservationTests(s: Opened): void {
  const reserve = reserver(s);
  test('concurrent reservations never pass the limit: 20 calls of $0.10 against $1.00 get exactly 10', async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => reserve('burst', `run-${i}`, 1, 0.1)));
    expect(answers.filter((a) => a.granted)).toHaveLength(10);
    const denied = answers.find((a) => !a.granted)!;
    expect(denied).toMatchObject({
      exceeded: 'tenant_daily_cost',
      reason: expect.stringMatching(/^tenant_daily_cost: burst has committed \$1 of \$1/),
    });
    expect(await s.store.budgetDay('burst', DAY)).toMatchObject({
      committed_usd: 1,
      reservations: { reserved: 10, denied: 10, settled: 0 },
    });
  });

  test('reserve is idempotent per run and step: a retry gets the first answer and counts nothing twice', async () => {
    const first = await reserve('idem', 'run-a', 1, 0.6);
    const again = await reserve('idem', 'run-a', 1, 0.6);
    expect(first).toMatchObject({ granted: true, replayed: false });
    expect(again).toMatchObject({ granted: true, replayed: true });
    const denied = await reserve('idem', 'run-b', 1, 0.6);
    // Budget freed later does not turn a retried denial into a grant: the run already went on without the call.
    await s.store.settle({ execution: 'e1', run_id: 'run-a', step: 1, actual_usd: 0, actual_tokens: 0 });
    expect(await reserve('idem', 'run-b', 1, 0.6)).toMatchObject({ granted: false, replayed: true, exceeded: denied.exceeded });
    expect(await s.store.budgetDay('idem', DAY)).toMatchObject({ committed_usd: 0 });
  });
}

/** Settling a reservation with the actual usage, and the token limit. */
function settlementTests(s: Opened): void {
  const reserve = reserver(s);
  test('settle moves the counter of the reservation’s own day, whatever the process’s time zone', async () => {
    // pg reads a DATE as local midnight: east of UTC that is the day before, if anything converted it.
    const tz = process.env.TZ;
    process.env.TZ = 'Pacific/Kiritimati'; // UTC+14
    try {
      await reserve('tz', 'run-tz', 1, 0.4);
      expect(await s.store.settle({ execution: 'e1', run_id: 'run-tz', step: 1, actual_usd: 0.1, actual_tokens: 10 })).toEqual({
        settled: true,
      });
      expect(await s.store.budgetDay('tz', DAY)).toMatchObject({ committed_usd: 0.1, reservations: { settled: 1 } });
      expect((await reserve('tz', 'run-tz', 1, 0.4)).day).toBe(DAY);
    } finally {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
    }
  });

  test('a run reset in Temporal (a new execution of the same run id) reserves afresh', async () => {
    const ask = (execution: string) =>
      s.store.reserve({
        tenant: 'reset',
        run_id: 'run-r',
        execution,
        step: 3,
        day: DAY,
        estimate_usd: 0.2,
        estimate_tokens: 1,
        limit: { daily_cost_usd: 1 },
      });
    expect(await ask('e1')).toMatchObject({ granted: true, replayed: false });
    expect(await ask('e2')).toMatchObject({ granted: true, replayed: false });
    expect(await s.store.budgetDay('reset', DAY)).toMatchObject({ committed_usd: 0.4 });
  });

  test('settle replaces the estimate with the actual usage, once', async () => {
    await reserve('settle', 'run-s', 4, 0.5);
    expect(await s.store.settle({ execution: 'e1', run_id: 'run-s', step: 4, actual_usd: 0.125, actual_tokens: 40 })).toEqual({
      settled: true,
    });
    expect(await s.store.settle({ execution: 'e1', run_id: 'run-s', step: 4, actual_usd: 0.125, actual_tokens: 40 })).toEqual({
      settled: false,
    });
    expect(await s.store.settle({ execution: 'e1', run_id: 'run-unknown', step: 1, actual_usd: 1, actual_tokens: 1 })).toEqual({
      settled: false,
    });
    expect(await s.store.budgetDay('settle', DAY)).toEqual({
      tenant: 'settle',
      day: DAY,
      committed_usd: 0.125,
      committed_tokens: 40,
      reservations: { reserved: 0, settled: 1, denied: 0 },
    });
    // Tenants and days are separate counters.
    expect(await s.store.budgetDay('settle', '2026-01-03')).toMatchObject({ committed_usd: 0 });
    expect(await s.store.budgetDay('someone-else', DAY)).toMatchObject({ committed_usd: 0 });
  });

  test('a daily token limit is enforced like the cost limit', async () => {
    const limit = { daily_tokens: 250 };
    const ask = (run_id: string) =>
      s.store.reserve({ tenant: 'tokens', run_id, execution: 'e1', step: 1, day: DAY, estimate_usd: 0, estimate_tokens: 100, limit });
    expect((await ask('t1')).granted).toBe(true);
    expect((await ask('t2')).granted).toBe(true);
    expect(await ask('t3')).toMatchObject({ granted: false, exceeded: 'tenant_daily_tokens' });
  });
}

// The same SQL against the machine's PostgreSQL (in a schema of this test's own, dropped at the end)
// and against the embedded PGlite.
describe.each(['postgres', 'pglite'] as const)('governance store on %s', (kind) => {
  const s = {} as Opened;
  let opened: TestStore;
  beforeAll(async () => {
    opened = await openTestStore(kind);
    ({ store: s.store, sql: s.sql } = opened);
    expect(opened.applied).toEqual(['001_audit_ledger.sql', '002_tenant_budgets.sql', '003_run_events.sql']);
    expect(await migrate(s.sql)).toEqual([]);
  });
  afterAll(async () => {
    await opened.close();
  });

  describe('the audit ledger', () => ledgerTests(s));
  describe('budget reservations', () => reservationTests(s));
  describe('budget settlement', () => settlementTests(s));
});

// Processes starting together against one fresh database: each has its own pool (its own
// connections), and they race for the migrations' advisory lock.
describe('migrations on a fresh PostgreSQL schema', () => {
  const racers = 4;
  let schema: string;
  let admin: Pool;
  let pools: Pool[];
  beforeEach(async () => {
    schema = `acp_race_${randomBytes(6).toString('hex')}`;
    admin = new Pool({ connectionString: PG_URL, max: 1 });
    await admin.query(`CREATE SCHEMA ${schema}`);
    pools = Array.from({ length: racers }, () => new Pool({ connectionString: PG_URL, max: 1, options: `-c search_path=${schema}` }));
  });
  afterEach(async () => {
    await Promise.all(pools.map((p) => p.end()));
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.end();
  });

  test('migrations run once when processes start together', async () => {
    const files = readdirSync(path.join(PROJECT_ROOT, 'governance', 'migrations'))
      .filter((f) => f.endsWith('.sql'))
      .sort();
    const results = await Promise.all(pools.map((p) => migrate(pgSql(p))));
    // One racer applied every file; the others waited for it and found nothing left to do.
    expect(results.filter((r) => r.length > 0)).toEqual([files]);
    expect(results.filter((r) => r.length === 0)).toHaveLength(racers - 1);
    const applied = await admin.query<{ name: string }>(`SELECT name FROM ${schema}.schema_migrations ORDER BY name`);
    expect(applied.rows.map((r) => r.name)).toEqual(files);
  });

  test('the advisory lock serialises them: a slow migration is applied by one racer, the others wait for it', async () => {
    // A migration slow enough that unserialised racers would all be inside it at once.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'acp-migrations-'));
    try {
      writeFileSync(path.join(dir, '001_slow.sql'), 'SELECT pg_sleep(0.5);\nCREATE TABLE marker (by_pid INT NOT NULL);\n');
      writeFileSync(path.join(dir, '002_mark.sql'), 'INSERT INTO marker VALUES (pg_backend_pid());\n');
      const ended: number[] = [];
      const results = await Promise.all(
        pools.map(async (p, i) => {
          const r = await migrate(pgSql(p), dir);
          ended[i] = performance.now();
          return r;
        }),
      );
      const winner = results.findIndex((r) => r.length > 0);
      expect(results[winner]).toEqual(['001_slow.sql', '002_mark.sql']);
      expect(results.filter((r) => r.length === 0)).toHaveLength(racers - 1);
      // The others finished only after the winner had: they waited on its lock.
      for (const [i, at] of ended.entries()) if (i !== winner) expect(at).toBeGreaterThanOrEqual(ended[winner]!);
      expect((await admin.query(`SELECT count(*)::int AS n FROM ${schema}.marker`)).rows).toEqual([{ n: 1 }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
