-- The run event log (issue 22): what watchers (SSE) and webhooks are told, append-only.
-- id is the global, tenant-wide resume point (GET /v1/events); (run_id, seq) is the per-run id the
-- workflow derives from its own state, so a workflow task retried on another worker writes the same
-- rows again and the unique key drops them (at-least-once from the worker, exactly-once here).
CREATE TABLE run_events (
  id BIGSERIAL PRIMARY KEY,
  run_id TEXT NOT NULL,
  seq BIGINT NOT NULL,
  tenant TEXT NOT NULL,
  agent TEXT NOT NULL,
  type TEXT NOT NULL,
  at TIMESTAMPTZ NOT NULL,
  stored_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  data JSONB NOT NULL DEFAULT '{}'::jsonb,
  UNIQUE (run_id, seq)
);
CREATE INDEX run_events_tenant_id ON run_events (tenant, id);
CREATE INDEX run_events_stored_at ON run_events (stored_at);

-- A wake-up for live followers: the payload is only a hint (the tenant), readers re-read the table
-- after their last id, so a notification from another schema of the same database costs a query, no more.
CREATE FUNCTION run_events_notify() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('acp_run_events', NEW.tenant);
  RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER run_events_inserted AFTER INSERT ON run_events
  FOR EACH ROW EXECUTE FUNCTION run_events_notify();
