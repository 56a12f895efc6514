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

/** The governance store: the audit ledger (and, next, the tenant budget counters). */
export class GovernanceStore {
  constructor(private readonly sql: Sql) {}

  /** Appends one row; the ledger refuses updates and deletes. */
  async append(e: AuditEntry): Promise<void> {
    await this.sql.query(
      'INSERT INTO audit_ledger (tenant, principal, action, outcome, reason, rule, run_id, request_id, trace_id, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)',
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
      ],
    );
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
