-- The audit ledger: who did what, when and why, including requests that never started a run.
-- Append-only: a trigger refuses UPDATE and DELETE.
CREATE TABLE audit_ledger (
  id BIGSERIAL PRIMARY KEY,
  at TIMESTAMPTZ NOT NULL DEFAULT now(),
  tenant TEXT NOT NULL,
  principal TEXT NOT NULL,
  action TEXT NOT NULL,
  outcome TEXT NOT NULL,
  reason TEXT NOT NULL,
  rule TEXT,
  run_id TEXT,
  request_id TEXT,
  trace_id TEXT,
  details JSONB NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_ledger_tenant_at ON audit_ledger (tenant, at);
CREATE INDEX audit_ledger_run ON audit_ledger (run_id);

CREATE FUNCTION audit_ledger_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'audit_ledger is append-only';
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_ledger_no_change BEFORE UPDATE OR DELETE ON audit_ledger
  FOR EACH ROW EXECUTE FUNCTION audit_ledger_append_only();
