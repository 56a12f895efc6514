// Shapes of the governance store as runs, activities and the gateway see them: audit rows and budget
// reservations. The store itself is governance/store.ts.

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
  /** Instants in UTC (InstantSchema normalises what a client sends: PostgreSQL refuses offsets past ±15:59). */
  since?: string;
  until?: string;
  limit?: number;
}

/** A request to reserve the estimated cost of one model call against a tenant's daily budget. */
export interface ReserveRequest {
  tenant: string;
  run_id: string;
  /** The Temporal run id of the execution (with run_id and step, the idempotency key). */
  execution: string;
  step: number;
  /** The UTC day (YYYY-MM-DD) the call counts against. */
  day: string;
  estimate_usd: number;
  estimate_tokens: number;
  limit: { daily_cost_usd?: number; daily_tokens?: number };
}

/** What a run asks the reserveBudget activity: a reservation, and maybe the previous call's settlement first. */
export interface ReserveBudgetRequest extends Omit<ReserveRequest, 'day'> {
  /** Settled before reserving, in the same local activity (runs started under `lean-history`). */
  settle_first?: SettleRequest;
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

export interface SettleRequest {
  run_id: string;
  execution: string;
  step: number;
  actual_usd: number;
  actual_tokens: number;
}
