-- Tenant daily budgets: what each tenant has committed per UTC day (reserved estimates of calls in
-- flight plus the actual cost of settled calls), and one row per model call's reservation.
CREATE TABLE budget_days (
  tenant TEXT NOT NULL,
  day DATE NOT NULL,
  committed_usd NUMERIC(20, 9) NOT NULL DEFAULT 0,
  committed_tokens BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant, day)
);

-- One row per (run, execution, step): the reservation's idempotency key. A retried reserve or settle
-- finds it; a run reset in Temporal (a new execution of the same run id) reserves afresh.
CREATE TABLE budget_reservations (
  run_id TEXT NOT NULL,
  execution TEXT NOT NULL,
  step INTEGER NOT NULL,
  tenant TEXT NOT NULL,
  day DATE NOT NULL,
  estimate_usd NUMERIC(20, 9) NOT NULL,
  estimate_tokens BIGINT NOT NULL,
  -- reserved: counted at its estimate; settled: counted at its actual; denied: never counted.
  status TEXT NOT NULL CHECK (status IN ('reserved', 'settled', 'denied')),
  actual_usd NUMERIC(20, 9),
  actual_tokens BIGINT,
  reason TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  settled_at TIMESTAMPTZ,
  PRIMARY KEY (run_id, execution, step)
);
CREATE INDEX budget_reservations_tenant_day ON budget_reservations (tenant, day);

-- Rows written from inside runs carry a key, so an activity retried after a crash appends once.
ALTER TABLE audit_ledger ADD COLUMN dedupe_key TEXT;
-- NULLs never conflict, so rows without a key (the gateway's) are unaffected.
CREATE UNIQUE INDEX audit_ledger_dedupe ON audit_ledger (dedupe_key);
