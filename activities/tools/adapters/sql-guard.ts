import { parse, type Statement } from 'pgsql-ast-parser';
import { AdapterFailure, adapterFailure } from './failures';

/**
 * Functions a `sql` tool never calls: those with effects outside the read-only transaction (session
 * settings, advisory locks, notifications, large objects, signals to other backends, replication,
 * server administration), host access (files, directories) or that run SQL of their own given as text
 * (which no check here could see). A name matches when it equals an entry, where a `*` in an entry
 * stands for any run of characters (so `pg_copy_*_replication_slot` names both copy functions).
 */
export const DENIED_FUNCTIONS = [
  'pg_read_*', // pg_read_file, pg_read_binary_file
  'pg_ls_*', // pg_ls_dir, pg_ls_logdir, pg_ls_waldir, ...
  'pg_stat_file',
  'pg_file_*', // adminpack: pg_file_write, pg_file_rename, pg_file_unlink
  // Large objects, by name: a prefix `lo_` would also refuse ordinary columns such as lo_limit.
  ...['import', 'export', 'create', 'creat', 'unlink', 'from_bytea', 'put', 'get', 'open', 'close'].map((n) => `lo_${n}`),
  ...['truncate', 'truncate64', 'lseek', 'lseek64', 'tell', 'tell64'].map((n) => `lo_${n}`),
  'loread',
  'lowrite',
  'set_config',
  'setval',
  'nextval',
  'pg_advisory_*',
  'pg_try_advisory_*',
  'pg_notify',
  'dblink*',
  'pg_terminate_backend',
  'pg_cancel_backend',
  'pg_reload_conf',
  'pg_rotate_logfile',
  'pg_switch_wal',
  'pg_promote',
  'pg_create_*', // replication slots, restore points
  'pg_drop_replication_slot',
  'pg_copy_*_replication_slot',
  'pg_replication_*',
  'pg_logical_*',
  'pg_wal_replay_*',
  'pg_backup_*',
  'pg_start_backup',
  'pg_stop_backup',
  'pg_stat_reset*',
  'pg_stat_statements_reset',
  'pg_log_standby_snapshot',
  'pg_log_backend_memory_contexts',
  'pg_import_system_collations',
  // These run a query given as text.
  'query_to_xml*',
  'cursor_to_xml*',
  'ts_stat',
  'ts_rewrite',
];

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const DENIED_PATTERNS = DENIED_FUNCTIONS.map((d) => new RegExp(`^${d.split('*').map(escapeRegExp).join('.*')}$`));

/** Whether a function name (any case, without its schema) is one a `sql` tool refuses. */
export function isDeniedFunction(name: string): boolean {
  const n = name.toLowerCase();
  return DENIED_PATTERNS.some((p) => p.test(n));
}

/** Whether a statement only reads: a SELECT, a UNION of them, or a WITH whose parts are all of those. */
function readsOnly(s: Statement): boolean {
  if (s.type === 'select' || s.type === 'union' || s.type === 'union all') return true;
  if (s.type === 'with') return s.bind.every((b) => readsOnly(b.statement)) && readsOnly(s.in);
  return false;
}

/** The names of every function the parsed statement calls, wherever in the tree the call sits. */
function calledFunctions(node: unknown, found: string[] = []): string[] {
  if (Array.isArray(node)) for (const item of node) calledFunctions(item, found);
  else if (node && typeof node === 'object') {
    const n = node as { type?: unknown; function?: { name?: unknown } };
    if (n.type === 'call' && typeof n.function?.name === 'string') found.push(n.function.name);
    for (const value of Object.values(node)) calledFunctions(value, found);
  }
  return found;
}

/**
 * Refuses a denied function however it is written, before the text is even parsed: every word of the
 * raw text is checked, because a text the parser reads differently from PostgreSQL (where a comment
 * or a quoted string ends) could hide a call from the parser's tree. So a denied name anywhere, even
 * in a string literal or a comment, is refused; and so are Unicode-escaped identifiers and strings
 * (`U&"..."`), the one way to spell a name without its letters.
 */
function assertNoDeniedWord(sql: string): void {
  if (/u&["']/i.test(sql)) throw adapterFailure(AdapterFailure.SqlDenied, 'sql must not use Unicode-escaped names or strings (U&"...")');
  denied((sql.match(/[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*/g) ?? []).find(isDeniedFunction));
}

/** Throws SqlDenied naming the function, when there is one. */
function denied(name: string | undefined): void {
  if (name === undefined) return;
  throw adapterFailure(
    AdapterFailure.SqlDenied,
    `sql must not call ${name.toLowerCase()}: functions with effects or host access are refused (docs/how-to-write-a-tool.md)`,
    { function: name.toLowerCase() },
  );
}

/**
 * Refuses anything but one SELECT statement (checked by a SQL parser, not a pattern) and any call of
 * a {@link DENIED_FUNCTIONS} function. This is the first line only: the query also goes over the
 * extended protocol (one statement), in a READ ONLY transaction that is rolled back, on a connection
 * reset before its next use.
 */
export function assertSingleSelect(sql: string): void {
  assertNoDeniedWord(sql);
  let statements: Statement[];
  try {
    statements = parse(sql);
  } catch (err) {
    throw adapterFailure(AdapterFailure.SqlNotSelect, `sql does not parse: ${(err as Error).message.split('\n')[0]}`);
  }
  if (statements.length !== 1)
    throw adapterFailure(AdapterFailure.SqlNotSelect, `sql must be exactly one statement (got ${statements.length})`);
  if (!readsOnly(statements[0]!)) throw adapterFailure(AdapterFailure.SqlNotSelect, `sql must be a SELECT (got ${statements[0]!.type})`);
  // The tree's calls (schema-qualified or quoted names included) are checked too: the second line.
  denied(calledFunctions(statements[0]).find(isDeniedFunction));
}

/** Column names the wrapper adds (the rows before the byte cap, each row's running size); stripped from the result. */
export const TOTAL_COLUMN = 'acp$total';
export const BYTES_COLUMN = 'acp$bytes';
const ORDER_COLUMN = 'acp$n';

/**
 * The statement actually sent: the query under a row limit, with each row's running size in bytes
 * (its text form) so PostgreSQL itself drops the rows past `maxBytes` and a huge value never crosses
 * the wire. The one-row left join keeps the count of rows before the cap even when none fits (then
 * the only row has NULL user columns). The text cannot escape the wrapper into a second statement: it
 * goes over the extended protocol, where PostgreSQL refuses more than one (SQLSTATE 42601); the
 * newline ends a trailing `--` comment that would otherwise swallow the wrapper's tail.
 */
export function wrap(sql: string, limit: number, maxBytes: number): string {
  const body = sql.trim().replace(/;+\s*$/, '');
  return [
    `WITH "acp$l" AS MATERIALIZED (SELECT * FROM (${body}\n) AS q LIMIT ${Math.floor(limit)}),`,
    `"acp$s" AS (SELECT "acp$l".*, sum(octet_length("acp$l"::text)) OVER (ROWS UNBOUNDED PRECEDING) AS "${BYTES_COLUMN}",`,
    `row_number() OVER () AS "${ORDER_COLUMN}" FROM "acp$l")`,
    `SELECT "acp$c"."${TOTAL_COLUMN}", "acp$s".* FROM (SELECT count(*)::int AS "${TOTAL_COLUMN}" FROM "acp$l") AS "acp$c"`,
    `LEFT JOIN "acp$s" ON "acp$s"."${BYTES_COLUMN}" <= ${Math.floor(maxBytes)} ORDER BY "acp$s"."${ORDER_COLUMN}"`,
  ].join('\n');
}

/** Whether a column is one {@link wrap} added. */
export const isWrapperColumn = (name: string) => name === TOTAL_COLUMN || name === BYTES_COLUMN || name === ORDER_COLUMN;
