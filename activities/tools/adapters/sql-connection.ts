import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Pool, type PoolClient, type QueryConfig } from 'pg';
import type { Connection } from '../config-schema';
import { wrap } from './sql-guard';

/** A column of a result as the driver describes it. */
export interface Field {
  name: string;
  dataTypeID: number;
}
/** What a query returns before the adapter shapes it: the wrapper's rows, with its own columns still in. */
export interface RawResult {
  fields: Field[];
  rows: Record<string, unknown>[];
}
/** One read-only query: at most `limit` rows, at most about `maxBytes` of row text, within `timeoutMs`. */
export type ReadOnlyQuery = (
  sql: string,
  params: unknown[],
  options: { timeoutMs: number; limit: number; maxBytes: number; signal: AbortSignal },
) => Promise<RawResult>;

/** An open (lazily) connection of a `sql` tool. */
export interface SqlConnection {
  query: ReadOnlyQuery;
  close: () => Promise<void>;
}

/**
 * Every new pooled connection starts read-only at session level (a startup option, so `RESET ALL` and
 * `DISCARD ALL` return to it rather than away from it).
 */
export const SESSION_OPTIONS = '-c default_transaction_read_only=on';

/** Waits for `promise`, or rejects as soon as `signal` aborts (the database stops the statement at its own timeout). */
function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true })),
  ]);
}

/**
 * The query as node-postgres must send it: over the extended protocol (Parse/Bind/Execute) even
 * without parameters, where PostgreSQL itself refuses a text of several statements. node-postgres
 * would otherwise use the simple protocol when `values` is empty, which runs every statement of the text.
 */
function extended(text: string, values: unknown[]): QueryConfig {
  return { text, values, queryMode: 'extended' } as QueryConfig;
}

/** Ends what a query may have left on a pooled connection: its transaction, then every session state. */
async function reset(client: PoolClient): Promise<void> {
  // ROLLBACK, never COMMIT: a read has nothing to keep, and this drops NOTIFYs and transaction-level effects.
  await client.query('ROLLBACK');
  // Settings (set_config(..., false) and SET SESSION AUTHORIZATION), advisory locks, LISTENs, prepared statements, temp tables.
  await client.query('DISCARD ALL');
}

/** A read-only query function over a connection, opened on first use; `close` ends it. */
export function openConnection(connection: Connection, dir: string): SqlConnection {
  if ('postgres' in connection) {
    let pool: Pool | undefined;
    const open = () =>
      (pool ??= new Pool({
        connectionString: connection.postgres,
        max: connection.max_connections,
        options: SESSION_OPTIONS,
        application_name: 'acp-sql-tool',
      }));
    return {
      async query(sql, params, { timeoutMs, limit, maxBytes, signal }) {
        const connecting = open().connect();
        // A connect that outlives the call (aborted while waiting for a pooled slot or the server) still
        // resolves later: that client goes back to the pool, else each such abort would hold a slot for good.
        const client = await unlessAborted(connecting, signal).catch((err: unknown) => {
          connecting.then(
            (late) => late.release(),
            () => undefined,
          );
          throw err;
        });
        let clean = false;
        try {
          await client.query('BEGIN READ ONLY');
          await client.query(`SET LOCAL statement_timeout = ${Math.floor(timeoutMs)}`);
          if (connection.search_path) await client.query(`SET LOCAL search_path TO ${connection.search_path}`);
          const result = await unlessAborted(client.query(extended(wrap(sql, limit, maxBytes), params)), signal);
          await reset(client);
          clean = true;
          return { fields: result.fields, rows: result.rows as Record<string, unknown>[] };
        } finally {
          if (!clean && !signal.aborted)
            clean = await reset(client).then(
              () => true,
              () => false,
            );
          // A client abandoned mid-statement, or one that could not be reset, is destroyed, never reused.
          client.release(clean ? undefined : new Error('sql tool connection not reset'));
        }
      },
      close: async () => {
        await pool?.end();
      },
    };
  }
  let db: Promise<PGlite> | undefined;
  // PGlite is one session: calls take turns, so none sees another's state between its query and reset.
  let turn: Promise<unknown> = Promise.resolve();
  const open = async () => {
    const pg = new PGlite(connection.pglite);
    if (connection.seed) await pg.exec(readFileSync(path.resolve(dir, connection.seed), 'utf8'));
    await pg.exec('SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY');
    return pg;
  };
  const run = async (sql: string, params: unknown[], limit: number, maxBytes: number) => {
    const pg = await (db ??= open());
    try {
      await pg.exec('BEGIN READ ONLY');
      // PGlite's query() always uses the extended protocol (Parse/Bind/Execute): one statement only.
      const result = await pg.query<Record<string, unknown>>(wrap(sql, limit, maxBytes), params);
      return { fields: result.fields, rows: result.rows };
    } finally {
      await pg.exec('ROLLBACK');
      // DISCARD ALL returns to the startup defaults, which for PGlite are read-write: set read-only again.
      await pg.exec('DISCARD ALL');
      await pg.exec('SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY');
    }
  };
  return {
    query(sql, params, { limit, maxBytes, signal }) {
      const mine = turn.then(() => run(sql, params, limit, maxBytes));
      turn = mine.catch(() => undefined);
      return unlessAborted(mine, signal);
    },
    close: async () => {
      if (db) await (await db).close();
    },
  };
}
