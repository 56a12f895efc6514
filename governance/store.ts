import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import type { Pool } from 'pg';
import { PROJECT_ROOT } from '../config/settings';
import type { AuditEntry, AuditQuery, AuditRow, Reservation, ReserveRequest, SettleRequest } from '../contracts/governance';

/** The little the store needs from a database: run SQL with parameters, get rows back. */
export interface Sql {
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  /** Runs a multi-statement script (migrations). */
  exec(text: string): Promise<void>;
  /** Runs `work` in one transaction on one connection: committed if it returns, rolled back if it throws. */
  transaction<T>(work: (tx: Pick<Sql, 'query' | 'exec'>) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** PostgreSQL through `pg`: the production store. */
export function pgSql(pool: Pool): Sql {
  return {
    async query<T>(text: string, params: unknown[] = []) {
      return (await pool.query(text, params)).rows as T[];
    },
    async exec(text: string) {
      await pool.query(text);
    },
    async transaction<T>(work: (tx: Pick<Sql, 'query' | 'exec'>) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await work({
          async query<R>(text: string, params: unknown[] = []) {
            return (await client.query(text, params)).rows as R[];
          },
          async exec(text: string) {
            await client.query(text);
          },
        });
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}

/** PGlite: PostgreSQL compiled to WASM, in-process, running the same SQL; the default for dev. */
export function pgliteSql(db: PGlite): Sql {
  return {
    async query<T>(text: string, params: unknown[] = []) {
      return (await db.query<T>(text, params)).rows;
    },
    async exec(text: string) {
      await db.exec(text);
    },
    // PGlite is one connection; its transaction() holds it, so other queries wait their turn.
    transaction<T>(work: (tx: Pick<Sql, 'query' | 'exec'>) => Promise<T>): Promise<T> {
      return db.transaction((tx) =>
        work({
          async query<R>(text: string, params: unknown[] = []) {
            return (await tx.query<R>(text, params)).rows;
          },
          async exec(text: string) {
            await tx.exec(text);
          },
        }),
      );
    },
    close: () => db.close(),
  };
}

const MIGRATIONS = path.join(PROJECT_ROOT, 'governance', 'migrations');

/** The advisory lock migrators take, so processes starting together apply each migration once. */
const MIGRATION_LOCK = 7233_0001;

/**
 * Applies the SQL files of governance/migrations/ not yet applied, in name order, in one transaction
 * that holds an advisory lock: a worker and a gateway starting together against a fresh database
 * take turns, and the second finds the work done.
 */
export async function migrate(sql: Sql, dir = MIGRATIONS): Promise<string[]> {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort();
  return sql.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await tx.exec('CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())');
    const done = new Set((await tx.query<{ name: string }>('SELECT name FROM schema_migrations')).map((r) => r.name));
    const applied: string[] = [];
    for (const file of files) {
      if (done.has(file)) continue;
      await tx.exec(readFileSync(path.join(dir, file), 'utf8'));
      await tx.query('INSERT INTO schema_migrations (name) VALUES ($1)', [file]);
      applied.push(file);
    }
    return applied;
  });
}

export interface BudgetDay {
  tenant: string;
  day: string;
  committed_usd: number;
  committed_tokens: number;
  reservations: { reserved: number; settled: number; denied: number };
}

/** The governance store: the audit ledger and the tenant budget counters. */
export class GovernanceStore {
  /** The store's connections, shared with the run event log (governance/events.ts). */
  constructor(readonly sql: Sql) {}

  /** Appends one row; the ledger refuses updates and deletes. A row whose dedupe_key is already there is ignored. */
  async append(e: AuditEntry): Promise<void> {
    await this.sql.query(
      'INSERT INTO audit_ledger (tenant, principal, action, outcome, reason, rule, run_id, request_id, trace_id, details, dedupe_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (dedupe_key) DO NOTHING',
      [
        e.tenant,
        e.principal,
        e.action,
        e.outcome,
        e.reason,
        e.rule ?? null,
        e.run_id ?? null,
        e.request_id ?? null,
        e.trace_id ?? null,
        JSON.stringify(e.details ?? {}),
        e.dedupe_key ?? null,
      ],
    );
  }

  /**
   * Reserves a model call's estimated cost and tokens against the tenant's budget for the day, in one
   * transaction: the counter only moves when the result stays within the limits (a row lock makes
   * concurrent reservations queue, so the sum can never pass a limit). Idempotent per run and step: a
   * retry gets the first answer back and counts nothing twice.
   */
  async reserve(r: ReserveRequest): Promise<Reservation> {
    return this.sql.transaction(async (tx) => {
      const inserted = await tx.query(
        "INSERT INTO budget_reservations (run_id, execution, step, tenant, day, estimate_usd, estimate_tokens, status) VALUES ($1, $2, $3, $4, $5, $6, $7, 'reserved') ON CONFLICT (run_id, execution, step) DO NOTHING RETURNING run_id",
        [r.run_id, r.execution, r.step, r.tenant, r.day, r.estimate_usd, r.estimate_tokens],
      );
      if (inserted.length === 0) {
        // Days are read as text: pg turns a DATE into a Date at local midnight, a day off east of UTC.
        const [prior] = await tx.query<{ status: string; day: string; reason: string | null }>(
          'SELECT status, day::text AS day, reason FROM budget_reservations WHERE run_id = $1 AND execution = $2 AND step = $3',
          [r.run_id, r.execution, r.step],
        );
        const granted = prior!.status !== 'denied';
        const exceeded = prior!.reason?.startsWith('tenant_daily_tokens') ? 'tenant_daily_tokens' : 'tenant_daily_cost';
        return { granted, replayed: true, day: prior!.day, ...(granted ? {} : { exceeded, reason: prior!.reason ?? '' }) };
      }
      await tx.query('INSERT INTO budget_days (tenant, day) VALUES ($1, $2) ON CONFLICT (tenant, day) DO NOTHING', [r.tenant, r.day]);
      const moved = await tx.query(
        `UPDATE budget_days SET committed_usd = committed_usd + $3, committed_tokens = committed_tokens + $4
         WHERE tenant = $1 AND day = $2
           AND ($5::numeric IS NULL OR committed_usd + $3 <= $5)
           AND ($6::bigint IS NULL OR committed_tokens + $4 <= $6)
         RETURNING committed_usd`,
        [r.tenant, r.day, r.estimate_usd, r.estimate_tokens, r.limit.daily_cost_usd ?? null, r.limit.daily_tokens ?? null],
      );
      if (moved.length === 1) return { granted: true, replayed: false, day: r.day };
      const [now] = await tx.query<{ committed_usd: string; committed_tokens: string }>(
        'SELECT committed_usd, committed_tokens FROM budget_days WHERE tenant = $1 AND day = $2',
        [r.tenant, r.day],
      );
      const usd = Number(now!.committed_usd);
      const tokens = Number(now!.committed_tokens);
      const overCost = r.limit.daily_cost_usd !== undefined && usd + r.estimate_usd > r.limit.daily_cost_usd;
      const exceeded = overCost ? 'tenant_daily_cost' : 'tenant_daily_tokens';
      const reason = overCost
        ? `tenant_daily_cost: ${r.tenant} has committed $${usd} of $${r.limit.daily_cost_usd} on ${r.day}; this call needs up to $${r.estimate_usd}`
        : `tenant_daily_tokens: ${r.tenant} has committed ${tokens} of ${r.limit.daily_tokens} tokens on ${r.day}; this call needs up to ${r.estimate_tokens}`;
      await tx.query("UPDATE budget_reservations SET status = 'denied', reason = $4 WHERE run_id = $1 AND execution = $2 AND step = $3", [
        r.run_id,
        r.execution,
        r.step,
        reason,
      ]);
      return { granted: false, replayed: false, day: r.day, exceeded, reason };
    });
  }

  /**
   * Replaces a reservation's estimate with what the call actually used (zero when it was never made or
   * failed). Idempotent: only a reservation still `reserved` moves the counter.
   */
  async settle(s: SettleRequest): Promise<{ settled: boolean }> {
    // One statement: the reservation's own tenant and day move the counter, never a value read back.
    const moved = await this.sql.query(
      `WITH settled AS (
         UPDATE budget_reservations SET status = 'settled', actual_usd = $4, actual_tokens = $5, settled_at = now()
         WHERE run_id = $1 AND execution = $2 AND step = $3 AND status = 'reserved'
         RETURNING tenant, day, estimate_usd, estimate_tokens)
       UPDATE budget_days d
          SET committed_usd = d.committed_usd - s.estimate_usd + $4::numeric,
              committed_tokens = d.committed_tokens - s.estimate_tokens + $5::bigint
         FROM settled s WHERE d.tenant = s.tenant AND d.day = s.day
       RETURNING d.tenant`,
      [s.run_id, s.execution, s.step, s.actual_usd, s.actual_tokens],
    );
    return { settled: moved.length === 1 };
  }

  /** What a tenant has committed on a day, and how its reservations stand. */
  async budgetDay(tenant: string, day: string): Promise<BudgetDay> {
    const [d] = await this.sql.query<{ committed_usd: string; committed_tokens: string }>(
      'SELECT committed_usd, committed_tokens FROM budget_days WHERE tenant = $1 AND day = $2',
      [tenant, day],
    );
    const counts = await this.sql.query<{ status: 'reserved' | 'settled' | 'denied'; n: string }>(
      'SELECT status, count(*) AS n FROM budget_reservations WHERE tenant = $1 AND day = $2 GROUP BY status',
      [tenant, day],
    );
    const reservations = { reserved: 0, settled: 0, denied: 0 };
    for (const c of counts) reservations[c.status] = Number(c.n);
    return {
      tenant,
      day,
      committed_usd: Number(d?.committed_usd ?? 0),
      committed_tokens: Number(d?.committed_tokens ?? 0),
      reservations,
    };
  }

  /** Rows of one tenant, newest first, filtered by run, principal and time. */
  async list(q: AuditQuery): Promise<AuditRow[]> {
    const where = ['tenant = $1'];
    const params: unknown[] = [q.tenant];
    const add = (clause: string, value: unknown) => {
      params.push(value);
      where.push(clause.replace('?', `$${params.length}`));
    };
    if (q.run_id) add('run_id = ?', q.run_id);
    if (q.principal) add('principal = ?', q.principal);
    if (q.since) add('at >= ?', q.since);
    if (q.until) add('at < ?', q.until);
    params.push(Math.min(q.limit ?? 100, 1000));
    const rows = await this.sql.query<Record<string, unknown>>(
      `SELECT id, at, tenant, principal, action, outcome, reason, rule, run_id, request_id, trace_id, details FROM audit_ledger WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT $${params.length}`,
      params,
    );
    return rows.map((r) => {
      const row: AuditRow = {
        id: Number(r.id),
        at: new Date(r.at as string).toISOString(),
        tenant: r.tenant as string,
        principal: r.principal as string,
        action: r.action as string,
        outcome: r.outcome as string,
        reason: r.reason as string,
        details: (typeof r.details === 'string' ? JSON.parse(r.details) : r.details) as Record<string, unknown>,
      };
      for (const k of ['rule', 'run_id', 'request_id', 'trace_id'] as const)
        if (r[k] !== null && r[k] !== undefined) row[k] = r[k] as string;
      return row;
    });
  }

  close(): Promise<void> {
    return this.sql.close();
  }
}
