import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import type { Pool } from 'pg';
import { PROJECT_ROOT } from '../config/settings';

/** The little the store needs from a database: run SQL with parameters, get rows back. */
export interface Sql {
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  /** Runs a multi-statement script (migrations). */
  exec(text: string): Promise<void>;
  /** Runs `work` in one transaction on one connection: committed if it returns, rolled back if it throws. */
  transaction<T>(work: (tx: Pick<Sql, 'query'>) => Promise<T>): Promise<T>;
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
    async transaction<T>(work: (tx: Pick<Sql, 'query'>) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await work({
          async query<R>(text: string, params: unknown[] = []) {
            return (await client.query(text, params)).rows as R[];
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
    transaction<T>(work: (tx: Pick<Sql, 'query'>) => Promise<T>): Promise<T> {
      return db.transaction((tx) =>
        work({
          async query<R>(text: string, params: unknown[] = []) {
            return (await tx.query<R>(text, params)).rows;
          },
        }),
      );
    },
    close: () => db.close(),
  };
}

const MIGRATIONS = path.join(PROJECT_ROOT, 'governance', 'migrations');

/** Applies the SQL files of governance/migrations/ not yet applied, in name order, each in a transaction. */
export async function migrate(sql: Sql, dir = MIGRATIONS): Promise<string[]> {
  await sql.exec('CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())');
  const done = new Set((await sql.query<{ name: string }>('SELECT name FROM schema_migrations')).map((r) => r.name));
  const applied: string[] = [];
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()) {
    if (done.has(file)) continue;
    const text = readFileSync(path.join(dir, file), 'utf8');
    await sql.exec(`BEGIN;\n${text}\nINSERT INTO schema_migrations (name) VALUES ('${file.replace(/'/g, "''")}');\nCOMMIT;`);
    applied.push(file);
  }
  return applied;
}

/** One row of the audit ledger. */
export interface AuditEntry {
  tenant: string;
  principal: string;
  /** What happened, e.g. dispatch, approval.decide, run.cancel, run.takeover. */
  action: string;
  /** accepted, denied, refused, approved, rejected… */
  outcome: string;
  reason: string;
  rule?: string;
  run_id?: string;
  request_id?: string;
  trace_id?: string;
  details?: Record<string, unknown>;
  /** Rows written from inside runs: a second append with the same key is ignored (activity retries). */
  dedupe_key?: string;
}

export interface AuditRow extends AuditEntry {
  id: number;
  at: string;
}

export interface AuditQuery {
  tenant: string;
  run_id?: string;
  principal?: string;
  since?: string;
  until?: string;
  limit?: number;
}

/** A request to reserve the estimated cost of one model call against a tenant's daily budget. */
export interface ReserveRequest {
  tenant: string;
  run_id: string;
  step: number;
  /** The UTC day (YYYY-MM-DD) the call counts against. */
  day: string;
  estimate_usd: number;
  estimate_tokens: number;
  limit: { daily_cost_usd?: number; daily_tokens?: number };
}

export interface Reservation {
  granted: boolean;
  /** The reservation already existed (a retried reserve): this is its first answer. */
  replayed: boolean;
  day: string;
  /** When not granted: which limit, and the numbers. */
  exceeded?: 'tenant_daily_cost' | 'tenant_daily_tokens';
  reason?: string;
}

export interface BudgetDay {
  tenant: string;
  day: string;
  committed_usd: number;
  committed_tokens: number;
  reservations: { reserved: number; settled: number; denied: number };
}

const dayText = (d: unknown) => (d instanceof Date ? d.toISOString().slice(0, 10) : String(d).slice(0, 10));

/** The governance store: the audit ledger and the tenant budget counters. */
export class GovernanceStore {
  constructor(private readonly sql: Sql) {}

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
        "INSERT INTO budget_reservations (run_id, step, tenant, day, estimate_usd, estimate_tokens, status) VALUES ($1, $2, $3, $4, $5, $6, 'reserved') ON CONFLICT (run_id, step) DO NOTHING RETURNING run_id",
        [r.run_id, r.step, r.tenant, r.day, r.estimate_usd, r.estimate_tokens],
      );
      if (inserted.length === 0) {
        const [prior] = await tx.query<{ status: string; day: unknown; reason: string | null }>(
          'SELECT status, day, reason FROM budget_reservations WHERE run_id = $1 AND step = $2',
          [r.run_id, r.step],
        );
        const granted = prior!.status !== 'denied';
        const exceeded = prior!.reason?.startsWith('tenant_daily_tokens') ? 'tenant_daily_tokens' : 'tenant_daily_cost';
        return { granted, replayed: true, day: dayText(prior!.day), ...(granted ? {} : { exceeded, reason: prior!.reason ?? '' }) };
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
      await tx.query("UPDATE budget_reservations SET status = 'denied', reason = $3 WHERE run_id = $1 AND step = $2", [
        r.run_id,
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
  async settle(s: { run_id: string; step: number; actual_usd: number; actual_tokens: number }): Promise<{ settled: boolean }> {
    return this.sql.transaction(async (tx) => {
      const [row] = await tx.query<{ tenant: string; day: unknown; estimate_usd: string; estimate_tokens: string }>(
        "UPDATE budget_reservations SET status = 'settled', actual_usd = $3, actual_tokens = $4, settled_at = now() WHERE run_id = $1 AND step = $2 AND status = 'reserved' RETURNING tenant, day, estimate_usd, estimate_tokens",
        [s.run_id, s.step, s.actual_usd, s.actual_tokens],
      );
      if (!row) return { settled: false };
      await tx.query(
        'UPDATE budget_days SET committed_usd = committed_usd - $3 + $4, committed_tokens = committed_tokens - $5 + $6 WHERE tenant = $1 AND day = $2',
        [row.tenant, dayText(row.day), row.estimate_usd, s.actual_usd, row.estimate_tokens, s.actual_tokens],
      );
      return { settled: true };
    });
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
