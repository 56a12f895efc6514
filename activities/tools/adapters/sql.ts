import { z } from 'zod';
import { AdapterFailure, adapterFailure, withTimeout } from './failures';
import { openConnection, type RawResult, type SqlConnection } from './sql-connection';
import { assertSingleSelect, BYTES_COLUMN, isWrapperColumn, TOTAL_COLUMN } from './sql-guard';
import { schemaFrom, type BuildContext } from './build';
import { ToolConfigError } from '../config-file';
import { guarded } from '../breaker';
import type { Connection, SqlInstance } from '../config-schema';
import type { ToolDefinition } from '../tool';

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
function retryableState(code: string): boolean {
  return /^(08|53|57|58|40)/.test(code);
}

/**
 * The failure a driver error becomes. Connection trouble (a socket error code, a dropped connection,
 * the adapter's own timeout) and the retryable SQLSTATE classes stay retryable; every other SQLSTATE,
 * and any error the driver was not expected to raise, is a non-retryable SqlRejected, so a run never
 * repeats a query the database refused.
 */
function failureOf(err: unknown, connectionName: string): Error {
  const e = err as Error & { code?: unknown };
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (code && /^[0-9A-Z]{5}$/.test(code) && !/^E[A-Z]+$/.test(code)) {
    if (retryableState(code)) return e;
    return adapterFailure(AdapterFailure.SqlRejected, `${connectionName} rejected the query (SQLSTATE ${code}): ${e.message}`, {
      sqlstate: code,
    });
  }
  const connectionTrouble =
    (code !== undefined && /^E[A-Z]+$/.test(code)) ||
    /timed out|timeout|Connection terminated|connection.*(closed|ended|refused)|ECONNRESET/i.test(e.message ?? '');
  if (connectionTrouble) return e;
  return adapterFailure(AdapterFailure.SqlRejected, `${connectionName}: unexpected driver error: ${e.message}`, { sqlstate: null });
}

/**
 * The tool's output from the wrapper's rows: its own columns stripped, at most `maxRows` rows, and
 * rows kept while their JSON fits in `maxBytes` (the database already dropped rows past the cap by
 * their text size; JSON can be a little larger, so it is counted again here). A first row that alone
 * exceeds the cap is refused: there is nothing useful to return.
 */
function shape(result: RawResult, maxRows: number, maxBytes: number, connectionName: string) {
  const total = Number(result.rows[0]?.[TOTAL_COLUMN] ?? 0);
  const fitting = result.rows.filter((r) => r[BYTES_COLUMN] !== null && r[BYTES_COLUMN] !== undefined).slice(0, maxRows);
  const rows: Record<string, unknown>[] = [];
  let bytes = 2;
  for (const row of fitting) {
    const clean = JSON.parse(JSON.stringify(Object.fromEntries(Object.entries(row).filter(([k]) => !isWrapperColumn(k))))) as Record<
      string,
      unknown
    >;
    bytes += Buffer.byteLength(JSON.stringify(clean)) + 1;
    if (bytes > maxBytes) break;
    rows.push(clean);
  }
  if (rows.length === 0 && total > 0) {
    throw adapterFailure(
      AdapterFailure.ResponseTooLarge,
      `the first row from ${connectionName} is larger than max_bytes (${maxBytes}): select fewer or shorter columns`,
      { max_bytes: maxBytes },
    );
  }
  return {
    columns: result.fields
      .filter((f) => !isWrapperColumn(f.name))
      .map((f) => ({ name: f.name, type: TYPE_NAMES[f.dataTypeID] ?? `oid:${f.dataTypeID}` })),
    rows,
    row_count: rows.length,
    truncated: total > rows.length,
  };
}

/** Turns one configured `sql` instance into a tool over its named connection. */
export function createSqlTool(instance: SqlInstance, connection: Connection, connectionName: string, ctx: BuildContext): ToolDefinition {
  const db: SqlConnection = openConnection(connection, ctx.dir);
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
      let result: RawResult;
      try {
        result = await withTimeout(`query on ${connectionName}`, instance.timeout_ms, tctx.signal, (signal) =>
          db.query(sql, params, { timeoutMs: instance.timeout_ms, limit: instance.max_rows + 1, maxBytes: instance.max_bytes, signal }),
        );
      } catch (err) {
        if (tctx.signal.aborted) throw err;
        throw failureOf(err, connectionName);
      }
      const output = shape(result, instance.max_rows, instance.max_bytes, connectionName);
      const rows = output.rows;
      return { output, evidence: [{ source: `sql:${connectionName}/${instance.name}`, excerpt: JSON.stringify(rows).slice(0, 500) }] };
    },
  };
  return guarded(tool, ctx.guards, instance, () => connectionName);
}
