import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Pool } from 'pg';
import { parse, type Statement } from 'pgsql-ast-parser';
import { z } from 'zod';
import { AdapterFailure, adapterFailure, withTimeout } from './failures';
import { schemaFrom, type BuildContext } from './build';
import { ToolConfigError } from '../config-file';
import { guarded } from '../breaker';
import type { Connection, SqlInstance } from '../config-schema';
import type { ToolDefinition } from '../tool';

interface Field {
  name: string;
  dataTypeID: number;
}
/** One read-only query: a READ ONLY transaction with a statement timeout, at most `limit` rows. */
type ReadOnlyQuery = (
  sql: string,
  params: unknown[],
  timeoutMs: number,
  limit: number,
  signal: AbortSignal,
) => Promise<{ fields: Field[]; rows: Record<string, unknown>[] }>;

// The usual PostgreSQL type OIDs (pg_type), so rows come out with readable column types.
const TYPE_NAMES: Record<number, string> = {
  16: 'bool',
  17: 'bytea',
  20: 'int8',
  21: 'int2',
  23: 'int4',
  25: 'text',
  114: 'json',
  700: 'float4',
  701: 'float8',
  1042: 'bpchar',
  1043: 'varchar',
  1082: 'date',
  1083: 'time',
  1114: 'timestamp',
  1184: 'timestamptz',
  1186: 'interval',
  1700: 'numeric',
  2950: 'uuid',
  3802: 'jsonb',
};

const Output = z
  .object({
    columns: z.array(z.object({ name: z.string(), type: z.string() }).strict()),
    rows: z.array(z.record(z.string(), z.unknown())),
    row_count: z.number().int(),
    /** true when the query had more rows than max_rows: only the first max_rows are here. */
    truncated: z.boolean(),
  })
  .strict();

const SelectInput = z
  .object({
    sql: z.string().trim().min(1).max(10_000),
    params: z
      .array(z.union([z.string(), z.number(), z.boolean(), z.null()]))
      .max(50)
      .default([]),
  })
  .strict();

/** SQLSTATE classes a retry may fix: connection trouble, a cancelled (timed-out) statement, resources, serialization. */
function retryable(code: string | undefined): boolean {
  return code === undefined || /^(08|53|57|58|40)/.test(code);
}

/** Whether a statement only reads: a SELECT, a UNION of them, or a WITH whose parts are all of those. */
function readsOnly(s: Statement): boolean {
  if (s.type === 'select' || s.type === 'union' || s.type === 'union all') return true;
  if (s.type === 'with') return s.bind.every((b) => readsOnly(b.statement)) && readsOnly(s.in);
  return false;
}

/** Refuses anything but one SELECT statement, checked by a SQL parser (not a pattern). */
export function assertSingleSelect(sql: string): void {
  let statements: Statement[];
  try {
    statements = parse(sql);
  } catch (err) {
    throw adapterFailure(AdapterFailure.SqlNotSelect, `sql does not parse: ${(err as Error).message.split('\n')[0]}`);
  }
  if (statements.length !== 1)
    throw adapterFailure(AdapterFailure.SqlNotSelect, `sql must be exactly one statement (got ${statements.length})`);
  if (!readsOnly(statements[0]!)) throw adapterFailure(AdapterFailure.SqlNotSelect, `sql must be a SELECT (got ${statements[0]!.type})`);
}

/** Waits for `promise`, or rejects as soon as `signal` aborts (the database stops the statement at its own timeout). */
function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true })),
  ]);
}

const wrap = (sql: string, limit: number) => `SELECT * FROM (${sql.trim().replace(/;+\s*$/, '')}) AS q LIMIT ${limit}`;

/** A read-only query function over a connection, opened on first use; `close` ends it. */
function openConnection(connection: Connection, dir: string): { query: ReadOnlyQuery; close: () => Promise<void> } {
  if ('postgres' in connection) {
    let pool: Pool | undefined;
    return {
      async query(sql, params, timeoutMs, limit, signal) {
        pool ??= new Pool({ connectionString: connection.postgres, max: connection.max_connections, connectionTimeoutMillis: timeoutMs });
        const client = await unlessAborted(pool.connect(), signal);
        let broken: Error | undefined;
        try {
          await client.query('BEGIN READ ONLY');
          await client.query(`SET LOCAL statement_timeout = ${Math.floor(timeoutMs)}`);
          if (connection.search_path) await client.query(`SET LOCAL search_path TO ${connection.search_path}`);
          const result = await unlessAborted(client.query({ text: wrap(sql, limit), values: params }), signal);
          await client.query('COMMIT');
          return { fields: result.fields, rows: result.rows as Record<string, unknown>[] };
        } catch (err) {
          broken = err as Error;
          throw err;
        } finally {
          // A client abandoned mid-statement is destroyed, not returned to the pool in an open transaction.
          if (broken && signal.aborted) client.release(broken);
          else {
            if (broken) await client.query('ROLLBACK').catch(() => undefined);
            client.release();
          }
        }
      },
      close: async () => {
        await pool?.end();
      },
    };
  }
  let db: Promise<PGlite> | undefined;
  const open = async () => {
    const pg = new PGlite(connection.pglite);
    if (connection.seed) await pg.exec(readFileSync(path.resolve(dir, connection.seed), 'utf8'));
    return pg;
  };
  return {
    async query(sql, params, timeoutMs, limit, signal) {
      db ??= open();
      const pg = await db;
      return unlessAborted(
        pg.transaction(async (tx) => {
          await tx.exec('SET TRANSACTION READ ONLY');
          const result = await tx.query<Record<string, unknown>>(wrap(sql, limit), params);
          return { fields: result.fields, rows: result.rows };
        }),
        signal,
      );
    },
    close: async () => {
      if (db) await (await db).close();
    },
  };
}

/** Turns one configured `sql` instance into a tool over its named connection. */
export function createSqlTool(instance: SqlInstance, connection: Connection, connectionName: string, ctx: BuildContext): ToolDefinition {
  const db = openConnection(connection, ctx.dir);
  ctx.closers.push(db.close);
  if (instance.query) {
    try {
      assertSingleSelect(instance.query);
    } catch (err) {
      throw new ToolConfigError(ctx.file, ctx.line([...ctx.at, 'query']), `query must be one SELECT: ${(err as Error).message}`);
    }
  }
  const input = instance.input_schema ? schemaFrom(ctx, 'input_schema', instance.input_schema) : SelectInput;
  const tool: ToolDefinition = {
    name: instance.name,
    kind: 'sql',
    description: instance.description,
    input: instance.allow_select ? SelectInput : input,
    output: Output,
    side_effect: 'read',
    max_classification: instance.max_classification,
    timeout_ms: instance.timeout_ms,
    max_attempts: instance.max_attempts,
    async execute(raw, tctx) {
      const args = raw as Record<string, unknown>;
      let sql: string;
      let params: unknown[];
      if (instance.allow_select) {
        const { sql: text, params: values } = SelectInput.parse(args);
        assertSingleSelect(text);
        sql = text;
        params = values;
      } else {
        sql = instance.query!;
        params = instance.params.map((p) => args[p] ?? null);
      }
      let result: Awaited<ReturnType<ReadOnlyQuery>>;
      try {
        result = await withTimeout(`query on ${connectionName}`, instance.timeout_ms, tctx.signal, (signal) =>
          db.query(sql, params, instance.timeout_ms, instance.max_rows + 1, signal),
        );
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !retryable(code)) {
          throw adapterFailure(
            AdapterFailure.SqlRejected,
            `${connectionName} rejected the query (SQLSTATE ${code}): ${(err as Error).message}`,
            { sqlstate: code },
          );
        }
        throw err;
      }
      const rows = result.rows.slice(0, instance.max_rows);
      const output = {
        columns: result.fields.map((f) => ({ name: f.name, type: TYPE_NAMES[f.dataTypeID] ?? `oid:${f.dataTypeID}` })),
        rows: JSON.parse(JSON.stringify(rows)) as Record<string, unknown>[],
        row_count: rows.length,
        truncated: result.rows.length > instance.max_rows,
      };
      return { output, evidence: [{ source: `sql:${connectionName}/${instance.name}`, excerpt: JSON.stringify(rows).slice(0, 500) }] };
    },
  };
  return guarded(tool, ctx.guards, instance, () => connectionName);
}
