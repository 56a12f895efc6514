import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { Client } from 'pg';
import { AdapterFailure } from '../../activities/tools/adapters/failures';
import { openConnection } from '../../activities/tools/adapters/sql-connection';
import { isWrapperColumn } from '../../activities/tools/adapters/sql-guard';
import type { ToolRegistry } from '../../activities/tools/registry';
import { PG_URL } from '../support/governance';
import { call, failureOf, logSink, registryFor, writeToolsDir } from '../support/tools';

// Hostile SQL against the sql adapter on the machine's PostgreSQL, in a schema of its own, as a role
// that could write the table (the adapter must stop it) and as the superuser postgres.
const id = randomUUID().replace(/-/g, '').slice(0, 10);
const schema = `hostile_${id}`;
const writer = `acp_writer_${id}`;
const reader = `acp_reader_${id}`;
/** Reads only, but has REPLICATION: it could create replication slots, which no rollback undoes. */
const replicator = `acp_replicator_${id}`;
const copied = `/tmp/acp_sql_${id}`;
const admin = new Client({ connectionString: PG_URL });
const urlAs = (role: string) => PG_URL.replace(/\/\/[^@/]*@/, `//${role}@`);
let asWriter: ToolRegistry;
let asSuper: ToolRegistry;

// max_connections 1: every call of a registry uses the same pooled connection, so a leak would show.
const toolsFor = (url: string, extra = '') => `
connections:
  db: { postgres: '${url}', search_path: ${schema}, max_connections: 1${extra} }
tools:
  - { name: ad_hoc, kind: sql, description: any select, side_effect: read, connection: db, allow_select: true, max_rows: 50 }
  - { name: small, kind: sql, description: capped, side_effect: read, connection: db, allow_select: true, max_rows: 50, max_bytes: 4096 }
`;

beforeAll(async () => {
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.query(`CREATE TABLE ${schema}.victims (id int PRIMARY KEY, v int NOT NULL)`);
  await admin.query(`INSERT INTO ${schema}.victims SELECT g, g FROM generate_series(1, 5) g`);
  await admin.query(`CREATE ROLE ${writer} LOGIN; CREATE ROLE ${reader} LOGIN; CREATE ROLE ${replicator} LOGIN REPLICATION`);
  await admin.query(`GRANT USAGE ON SCHEMA ${schema} TO ${writer}, ${reader}, ${replicator}`);
  await admin.query(`GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ${schema}.victims TO ${writer}`);
  await admin.query(`GRANT SELECT ON ${schema}.victims TO ${reader}, ${replicator}`);
  asWriter = registryFor(writeToolsDir({ 'db.yaml': toolsFor(urlAs(writer)) }));
  asSuper = registryFor(writeToolsDir({ 'db.yaml': toolsFor(PG_URL) }));
});
afterAll(async () => {
  await asWriter.close();
  await asSuper.close();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  for (const role of [writer, reader, replicator]) await admin.query(`DROP OWNED BY ${role}; DROP ROLE ${role}`).catch(() => undefined);
  await admin.end();
});

/** What must never change: the rows, and no file written by COPY. */
async function untouched() {
  const rows = (await admin.query(`SELECT string_agg(id || ':' || v, ',' ORDER BY id) AS s FROM ${schema}.victims`)).rows[0].s;
  const file = (await admin.query(`SELECT pg_stat_file($1, true) IS NOT NULL AS there`, [copied])).rows[0].there;
  return { rows, file };
}
const BEFORE = { rows: '1:1,2:2,3:3,4:4,5:5', file: false };

/** What a pooled connection carries from one use to the next, read through the same pool. */
const PROBE = `SELECT coalesce(current_setting('acp.leak', true), '') AS leak, current_setting('default_transaction_read_only') AS ro,
  current_setting('statement_timeout') AS st, current_user AS who,
  (SELECT count(*)::int FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()) AS locks`;
async function probe(registry: ToolRegistry) {
  return ((await call(registry, 'ad_hoc', { sql: PROBE })).output as { rows: Record<string, unknown>[] }).rows[0];
}

// Fragments that disagree between parsers: comments (nested, with quotes inside), quoted strings and
// names, dollar quotes, E'' escapes; around writes, transaction control and session changes.
const noise = fc.constantFrom(
  ' ',
  '\n',
  ';',
  ' -- a comment \n',
  " -- it's a quote\n",
  '/* c */',
  '/* /* nested */ still */',
  "/* ' */",
  '/* -- */',
  "'str'",
  "'it''s'",
  "E'\\''",
  "E'\\\\'",
  '"id"',
  '$$ x $$',
  "$$ ' $$",
  '$t$ ; $t$',
  '$t$',
  "'",
  '"',
  '*/',
  '(',
  ')',
  ') AS q',
);
const writes = fc.constantFrom(
  'DELETE FROM victims',
  'UPDATE victims SET v = 0',
  'INSERT INTO victims VALUES (99, 99)',
  'TRUNCATE victims',
  `COPY (SELECT 1) TO '${copied}'`,
  'COMMIT',
  'END',
  'SET acp.leak = 1',
  "SELECT set_config('acp.leak', '1', false)",
  'SELECT pg_advisory_lock(1)',
  'SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE',
  'SET statement_timeout = 1',
  'RESET ALL',
);
// A text written to close the adapter's wrapper and run the write as a statement of its own.
const escape = (w: string) => `SELECT 1 /* ' */ ) AS q) SELECT 1; ${w}; WITH "acp$l" AS (SELECT * FROM (SELECT 1 /* ' */`;
const escaping = fc.array(writes, { minLength: 1, maxLength: 4 }).map((ws) => escape(ws.join('; ')));
const generated = fc
  .tuple(fc.array(noise, { maxLength: 4 }), fc.array(fc.tuple(writes, fc.array(noise, { maxLength: 3 })), { minLength: 1, maxLength: 3 }))
  .map(([lead, parts]) => `SELECT 1 AS one${lead.join('')}${parts.map(([w, n]) => `${n.join('')}; ${w}${n.join('')}`).join('')}`);
const hostile = fc.oneof({ arbitrary: generated, weight: 4 }, { arbitrary: escaping, weight: 1 });

test('property: no generated text changes a row, writes a file or leaves a setting or lock on the pooled connection', async () => {
  const clean = { writer: await probe(asWriter), super: await probe(asSuper) };
  expect(clean.writer).toMatchObject({ leak: '', ro: 'on', locks: 0, who: writer });
  await fc.assert(
    fc.asyncProperty(hostile, async (sql) => {
      for (const registry of [asWriter, asSuper]) {
        // A refusal is typed and final (a run never repeats it); a success (a plain SELECT) is fine.
        const refusal = await failureOf(call(registry, 'ad_hoc', { sql })).catch(() => undefined);
        if (refusal) expect(refusal).toMatchObject({ nonRetryable: true });
        expect(await untouched()).toEqual(BEFORE);
      }
      expect(await probe(asWriter)).toEqual(clean.writer);
      expect(await probe(asSuper)).toEqual(clean.super);
    }),
    { numRuns: 200 },
  );
}, 300_000);

test('property: even with the parser bypassed, PostgreSQL runs one statement read-only and the pool is reset after', async () => {
  // The adapter's second line alone: the connection layer, given every generated text unchecked.
  const db = openConnection({ postgres: urlAs(writer), search_path: schema, max_connections: 1, allow_privileged_role: false }, '.');
  const signal = new AbortController().signal;
  const run = (sql: string) => db.query(sql, [], { timeoutMs: 5000, limit: 10, maxBytes: 1 << 20, signal });
  const probeHere = async () => {
    const row = (await run(PROBE)).rows[0]!;
    return Object.fromEntries(Object.entries(row).filter(([k]) => !isWrapperColumn(k)));
  };
  try {
    const clean = await probeHere();
    expect(clean).toMatchObject({ leak: '', ro: 'on', locks: 0, who: writer });
    await fc.assert(
      fc.asyncProperty(fc.oneof(hostile, writes), async (sql) => {
        await run(sql).catch(() => undefined);
        expect(await untouched()).toEqual(BEFORE);
        expect(await probeHere()).toEqual(clean);
      }),
      { numRuns: 200 },
    );
    // What the extended protocol buys: PostgreSQL itself refuses a second statement.
    await expect(run(escape('DELETE FROM victims'))).rejects.toMatchObject({
      code: '42601',
      message: expect.stringContaining('cannot insert multiple commands into a prepared statement'),
    });
    // With the session read-only too, not even a COMMIT and a READ WRITE default in between would write.
    await run(escape('COMMIT; SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE; COMMIT; DELETE FROM victims')).catch(() => undefined);
    expect(await untouched()).toEqual(BEFORE);
    // A set_config or advisory lock that got past the parser dies with the transaction's reset.
    await run("SELECT set_config('acp.leak', 'x', false), pg_advisory_lock(7)");
    expect(await probeHere()).toEqual(clean);
  } finally {
    await db.close();
  }
  expect(await untouched()).toEqual(BEFORE);
}, 300_000);

test("the issue's attack: a comment with a quote hides statements from the parser; PostgreSQL refuses them, typed and final", async () => {
  // pgsql-ast-parser reads each of these as one SELECT; PostgreSQL sees the comments end at */.
  const attacks = [
    "SELECT 1 /* ' */ ; DELETE FROM victims; /* ' */",
    escape(`COMMIT; DELETE FROM victims; COPY (SELECT 1) TO '${copied}'`),
    escape('COMMIT; SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE; COMMIT; DELETE FROM victims'),
    escape("COMMIT; SET acp.leak = 'x'"),
  ];
  for (const registry of [asWriter, asSuper]) {
    const before = await probe(registry);
    for (const sql of attacks) {
      expect(await failureOf(call(registry, 'ad_hoc', { sql }))).toMatchObject({
        type: AdapterFailure.SqlRejected,
        nonRetryable: true,
        message: expect.stringContaining('42601'),
      });
      expect(await untouched()).toEqual(BEFORE);
    }
    expect(await probe(registry)).toEqual(before);
  }
});

test('every denied function family is refused before the database, as a non-retryable SqlDenied', async () => {
  const calls = [
    "pg_read_file('/etc/passwd')",
    "pg_read_binary_file('/etc/passwd')",
    "(SELECT count(*) FROM pg_ls_dir('.'))",
    "pg_stat_file('/etc')",
    "lo_import('/etc/passwd')",
    "lo_export(1, '/tmp/x')",
    "lo_from_bytea(0, 'x')",
    'loread(0, 1)',
    "set_config('acp.leak', '1', false)",
    'pg_advisory_lock(1)',
    'pg_advisory_xact_lock(1)',
    'pg_try_advisory_lock(1)',
    "pg_notify('c', 'x')",
    "dblink('host=x', 'select 1')",
    'pg_terminate_backend(1)',
    'pg_cancel_backend(1)',
    'pg_reload_conf()',
    'pg_rotate_logfile()',
    'pg_switch_wal()',
    "pg_create_physical_replication_slot('s')",
    "pg_copy_physical_replication_slot('s', 't')",
    "pg_copy_logical_replication_slot('s', 't')",
    'pg_stat_statements_reset()',
    'pg_log_standby_snapshot()',
    "pg_logical_emit_message(true, 'p', 'm')",
    "query_to_xml('select 1', true, true, '')",
    "ts_stat('select 1')",
    "nextval('s')",
    "pg_catalog.SET_CONFIG('acp.leak', '1', false)",
    `"set_config"('acp.leak', '1', false)`,
    "set_config/* a comment */('acp.leak', '1', false)",
    `U&"\\0073et_config"('acp.leak', '1', false)`,
  ];
  for (const fn of calls) {
    const f = await failureOf(call(asSuper, 'ad_hoc', { sql: `SELECT ${fn} AS x` }));
    expect({ fn, ...f }).toMatchObject({ fn, type: AdapterFailure.SqlDenied, nonRetryable: true });
  }
  expect(await untouched()).toEqual(BEFORE);
  // A name that merely starts like a family is no call: columns such as lo_limit are fine.
  expect((await call(asSuper, 'ad_hoc', { sql: 'SELECT 1 AS lo_limit' })).output).toMatchObject({ rows: [{ lo_limit: 1 }] });
  // pg_sleep has no effect beyond time (bounded by statement_timeout): allowed.
  expect((await call(asSuper, 'ad_hoc', { sql: 'SELECT 1 AS one FROM pg_sleep(0)' })).output).toMatchObject({ rows: [{ one: 1 }] });
});

test('the byte cap: a 50 MB value is refused as ResponseTooLarge; many rows stop at max_bytes, truncated', async () => {
  expect(await failureOf(call(asWriter, 'ad_hoc', { sql: "SELECT repeat('x', 50 * 1024 * 1024) AS big" }))).toMatchObject({
    type: AdapterFailure.ResponseTooLarge,
    nonRetryable: true,
  });
  // The database drops it: the value never crosses the wire (the one row left has only the count).
  const db = openConnection({ postgres: urlAs(writer), max_connections: 1, allow_privileged_role: false }, '.');
  const raw = await db
    .query("SELECT repeat('x', 50 * 1024 * 1024) AS big", [], {
      timeoutMs: 10_000,
      limit: 2,
      maxBytes: 4096,
      signal: new AbortController().signal,
    })
    .finally(() => db.close());
  expect(raw.rows).toEqual([expect.objectContaining({ big: null, acp$total: 1 })]);
  const { output } = await call(asWriter, 'small', { sql: "SELECT g, repeat('y', 1000) AS v FROM generate_series(1, 40) g ORDER BY g" });
  const out = output as { rows: { g: number }[]; row_count: number; truncated: boolean; columns: { name: string }[] };
  expect(out.truncated).toBe(true);
  expect(out.row_count).toBeGreaterThan(0);
  expect(Buffer.byteLength(JSON.stringify(out.rows))).toBeLessThanOrEqual(4096);
  expect(out.rows.map((r) => r.g)).toEqual(Array.from({ length: out.row_count }, (_, i) => i + 1));
  expect(out.columns.map((c) => c.name)).toEqual(['g', 'v']);
  // Under the cap nothing is cut, and the wrapper's own columns never show.
  expect((await call(asWriter, 'small', { sql: 'SELECT id FROM victims ORDER BY id' })).output).toEqual({
    columns: [{ name: 'id', type: 'int4' }],
    rows: [1, 2, 3, 4, 5].map((i) => ({ id: i })),
    row_count: 5,
    truncated: false,
  });
});

test('start-up check: a superuser, a replication role or a role that can write is refused, a reader passes, allow_privileged_role warns', async () => {
  const check = async (url: string, extra = '') => {
    const logs = logSink();
    const registry = registryFor(writeToolsDir({ 'db.yaml': toolsFor(url, extra) }), { logger: logs.logger });
    try {
      return {
        error: await registry.check().then(
          () => undefined,
          (err: Error) => err,
        ),
        warnings: logs.lines,
      };
    } finally {
      await registry.close();
    }
  };
  const asPostgres = await check(PG_URL);
  expect(asPostgres.error).toMatchObject({ name: 'ToolConfigError', message: expect.stringMatching(/db\.yaml:3: .*superuser/) });
  const asWriterRole = await check(urlAs(writer));
  expect(asWriterRole.error?.message).toContain(`can write 1 table(s) it can read (${schema}.victims)`);
  expect((await check(urlAs(replicator))).error?.message).toContain('it has the REPLICATION attribute');
  expect((await check(urlAs(reader))).error).toBeUndefined();
  const allowed = await check(PG_URL, ', allow_privileged_role: true');
  expect(allowed.error).toBeUndefined();
  expect(allowed.warnings).toEqual([
    expect.objectContaining({ level: 'warn', message: expect.stringMatching(/^INSECURE: .*superuser/), fields: expect.anything() }),
  ]);
}, 60_000);

test('a call aborted while it waits for a pooled connection gives that connection back once it comes', async () => {
  const db = openConnection({ postgres: urlAs(reader), max_connections: 1, allow_privileged_role: false }, '.');
  const options = (signal: AbortSignal) => ({ timeoutMs: 10_000, limit: 2, maxBytes: 4096, signal });
  try {
    const holding = db.query('SELECT pg_sleep(0.5) AS slept', [], options(new AbortController().signal));
    const waiting = new AbortController();
    const aborted = db.query('SELECT 1 AS one', [], options(waiting.signal));
    waiting.abort(new Error('the caller gave up'));
    await expect(aborted).rejects.toThrow('the caller gave up');
    await holding;
    // The only slot: the aborted call's late connection must be back in the pool for this one to run.
    const next = new AbortController();
    const timer = setTimeout(() => next.abort(new Error('the pool never got its connection back')), 10_000);
    await expect(db.query('SELECT 2 AS two', [], options(next.signal))).resolves.toMatchObject({ rows: [{ two: 2 }] });
    clearTimeout(timer);
  } finally {
    // A leaked client would keep pool.end() waiting for ever: bounded, so a regression fails, not hangs.
    await Promise.race([db.close(), new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
  }
});
