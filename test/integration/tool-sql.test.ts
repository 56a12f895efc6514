import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { ErrorCode } from '../../contracts/errors';
import { AdapterFailure } from '../../activities/tools/adapters/failures';
import type { ToolRegistry } from '../../activities/tools/registry';
import { PG_URL } from '../support/governance';
import { call, failureOf, logSink, registryFor, writeToolsDir } from '../support/tools';

// The sql adapter against the machine's PostgreSQL (in a schema of its own, dropped afterwards) and the
// embedded PGlite (in memory, seeded from a file of the tools folder).
const schema = `tools_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
const admin = new Client({ connectionString: PG_URL });
let registry: ToolRegistry;
const sink = logSink();
const byService = {
  type: 'object',
  required: ['service'],
  additionalProperties: false,
  properties: { service: { type: 'string', minLength: 1 } },
};

beforeAll(async () => {
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.query(
    `CREATE TABLE ${schema}.incidents (id int PRIMARY KEY, service text NOT NULL, severity int NOT NULL, opened_at timestamptz NOT NULL)`,
  );
  await admin.query(
    `INSERT INTO ${schema}.incidents SELECT g, CASE WHEN g % 2 = 0 THEN 'checkout' ELSE 'search' END, g % 3 + 1, now() FROM generate_series(1, 30) g`,
  );
  const dir = writeToolsDir({
    'seed.sql': `CREATE TABLE deploys (service text, version text, at date); INSERT INTO deploys VALUES ('checkout', '1.4.2', '2026-11-30'), ('checkout', '1.4.3', '2026-12-01'), ('search', '2.0.0', '2026-11-29');`,
    'sql.yaml': `
connections:
  main: { postgres: '${PG_URL}', search_path: ${schema} }
  broken: { postgres: 'postgres://postgres@127.0.0.1:1/none' }
  embedded: { pglite: 'memory://', seed: seed.sql }
tools:
  - name: incidents_by_service
    kind: sql
    description: incidents of a service
    side_effect: read
    connection: main
    query: SELECT id, service, severity, opened_at FROM incidents WHERE service = $1 ORDER BY id
    params: [service]
    input_schema: ${JSON.stringify(byService)}
    max_rows: 10
  - name: slow_query
    kind: sql
    description: sleeps
    side_effect: read
    connection: main
    query: SELECT pg_sleep(2) AS slept, $1::text AS service
    params: [service]
    input_schema: ${JSON.stringify(byService)}
    timeout_ms: 300
  - name: bad_column
    kind: sql
    description: names a column that does not exist
    side_effect: read
    connection: main
    query: SELECT nope FROM incidents WHERE service = $1
    params: [service]
    input_schema: ${JSON.stringify(byService)}
  - name: broken_db
    kind: sql
    description: a database nobody listens for
    side_effect: read
    connection: broken
    query: SELECT 1 AS one WHERE $1::text IS NOT NULL
    params: [service]
    input_schema: ${JSON.stringify(byService)}
    timeout_ms: 2000
    breaker: { consecutive_failures: 2, half_open_after_ms: 200 }
  - name: ad_hoc
    kind: sql
    description: one SELECT written by the caller
    side_effect: read
    connection: main
    allow_select: true
    max_rows: 5
  - name: deploys_of
    kind: sql
    description: deploys of a service (PGlite)
    side_effect: read
    connection: embedded
    query: SELECT version, at FROM deploys WHERE service = $1 ORDER BY at DESC
    params: [service]
    input_schema: ${JSON.stringify(byService)}
  - name: embedded_ad_hoc
    kind: sql
    description: one SELECT on PGlite
    side_effect: read
    connection: embedded
    allow_select: true
`,
  });
  registry = registryFor(dir, { logger: sink.logger });
});
afterAll(async () => {
  await registry.close();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
});

test('PostgreSQL: a fixed query with parameters returns rows with column types, capped at max_rows', async () => {
  const { output } = await call(registry, 'incidents_by_service', { service: 'checkout' });
  const out = output as {
    columns: { name: string; type: string }[];
    rows: Record<string, unknown>[];
    row_count: number;
    truncated: boolean;
  };
  expect(out.columns).toEqual([
    { name: 'id', type: 'int4' },
    { name: 'service', type: 'text' },
    { name: 'severity', type: 'int4' },
    { name: 'opened_at', type: 'timestamptz' },
  ]);
  expect(out.row_count).toBe(10);
  expect(out.truncated).toBe(true);
  expect(out.rows.every((r) => r.service === 'checkout')).toBe(true);
});

test('PostgreSQL: the statement timeout stops a slow query, as a retryable failure', async () => {
  const f = await failureOf(call(registry, 'slow_query', { service: 'a' }));
  expect(f.nonRetryable).toBeFalsy();
  expect(f.message).toMatch(/statement timeout|timed out after 300 ms/);
});

test('PostgreSQL: a query the database rejects is a non-retryable SqlRejected with its SQLSTATE', async () => {
  expect(await failureOf(call(registry, 'bad_column', { service: 'a' }))).toMatchObject({
    type: AdapterFailure.SqlRejected,
    nonRetryable: true,
    message: expect.stringContaining('42703'),
  });
});

test('allow_select: one SELECT runs read-only; anything else is refused by the parser or the READ ONLY transaction', async () => {
  const { output } = await call(registry, 'ad_hoc', {
    sql: 'SELECT service, count(*)::int AS n FROM incidents GROUP BY service ORDER BY service',
  });
  expect((output as { rows: unknown[] }).rows).toEqual([
    { service: 'checkout', n: 15 },
    { service: 'search', n: 15 },
  ]);
  expect(await failureOf(call(registry, 'ad_hoc', { sql: `DELETE FROM incidents` }))).toMatchObject({
    type: AdapterFailure.SqlNotSelect,
    message: expect.stringContaining('delete'),
  });
  expect(await failureOf(call(registry, 'ad_hoc', { sql: 'SELECT 1; DROP TABLE incidents' }))).toMatchObject({
    type: AdapterFailure.SqlNotSelect,
    message: expect.stringContaining('exactly one statement'),
  });
  expect(
    await failureOf(call(registry, 'ad_hoc', { sql: 'WITH gone AS (DELETE FROM incidents RETURNING id) SELECT * FROM gone' })),
  ).toMatchObject({ type: AdapterFailure.SqlNotSelect });
  // A function with a side effect inside a SELECT is refused before it reaches the database.
  expect(await failureOf(call(registry, 'ad_hoc', { sql: `SELECT nextval('x')` }))).toMatchObject({
    type: AdapterFailure.SqlDenied,
    nonRetryable: true,
  });
  expect((await admin.query(`SELECT count(*)::int AS n FROM ${schema}.incidents`)).rows[0]).toEqual({ n: 30 });
});

test('arguments that fail the schema never reach the database', async () => {
  expect(await failureOf(call(registry, 'incidents_by_service', { service: 42 }))).toMatchObject({
    type: ErrorCode.ToolInputInvalid,
    nonRetryable: true,
  });
  expect(await failureOf(call(registry, 'ad_hoc', { query: 'SELECT 1' }))).toMatchObject({ type: ErrorCode.ToolInputInvalid });
});

test('an unreachable database: retryable failures open the breaker, then CircuitOpen at once; half-open retries after the cool-down', async () => {
  for (let i = 0; i < 2; i++) expect((await failureOf(call(registry, 'broken_db', { service: 'a' }))).nonRetryable).toBeFalsy();
  const started = Date.now();
  expect(await failureOf(call(registry, 'broken_db', { service: 'a' }))).toMatchObject({ type: ErrorCode.CircuitOpen, nonRetryable: true });
  expect(Date.now() - started).toBeLessThan(100);
  await new Promise((r) => setTimeout(r, 250));
  // Half-open: one trial reaches the database again; it still fails, so the breaker opens again.
  expect((await failureOf(call(registry, 'broken_db', { service: 'a' }))).type).not.toBe(ErrorCode.CircuitOpen);
  expect(await failureOf(call(registry, 'broken_db', { service: 'a' }))).toMatchObject({ type: ErrorCode.CircuitOpen });
  expect(sink.lines.filter((l) => l.fields.tool === 'broken_db').map((l) => l.fields.state)).toEqual(['open', 'halfopen', 'open']);
});

// PGlite's first open (initdb in WASM) can take a minute on a busy machine.
test('PGlite: the seeded embedded database answers fixed and ad-hoc SELECTs, read-only', async () => {
  const { output } = await call(registry, 'deploys_of', { service: 'checkout' });
  expect(output).toEqual({
    columns: [
      { name: 'version', type: 'text' },
      { name: 'at', type: 'date' },
    ],
    rows: [
      { version: '1.4.3', at: expect.stringMatching(/^2026-12-01/) },
      { version: '1.4.2', at: expect.stringMatching(/^2026-11-30/) },
    ],
    row_count: 2,
    truncated: false,
  });
  expect(await failureOf(call(registry, 'embedded_ad_hoc', { sql: "INSERT INTO deploys VALUES ('x', 'y', now())" }))).toMatchObject({
    type: AdapterFailure.SqlNotSelect,
  });
  expect(await failureOf(call(registry, 'embedded_ad_hoc', { sql: 'SELECT nope FROM deploys' }))).toMatchObject({
    type: AdapterFailure.SqlRejected,
    message: expect.stringContaining('42703'),
  });
  expect(
    await failureOf(call(registry, 'embedded_ad_hoc', { sql: "SELECT set_config('x.y', 'z', false), nextval('no_such_seq')" })),
  ).toMatchObject({ type: AdapterFailure.SqlDenied });
  // The READ ONLY transaction itself stops a write the parser cannot see (a fixed query is checked only at start).
  expect(await failureOf(call(registry, 'embedded_ad_hoc', { sql: 'SELECT * FROM deploys FOR UPDATE' }))).toMatchObject({
    type: AdapterFailure.SqlRejected,
    message: expect.stringContaining('25006'),
  });
}, 180_000);
