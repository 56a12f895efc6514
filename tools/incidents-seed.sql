-- The example incidents table of the dev PGlite database (tools/incidents.yaml).
CREATE TABLE IF NOT EXISTS incidents (
  id text PRIMARY KEY,
  service text NOT NULL,
  severity int NOT NULL,
  title text NOT NULL,
  opened_at timestamptz NOT NULL,
  resolved boolean NOT NULL
);
INSERT INTO incidents VALUES
  ('INC-101', 'checkout', 2, 'Card payments slow after deploy 1.4.3', '2026-11-30T09:12:00Z', true),
  ('INC-107', 'checkout', 1, 'Checkout p95 latency above 2 s', '2026-12-01T07:40:00Z', false),
  ('INC-103', 'search', 3, 'Stale results for new products', '2026-11-28T15:00:00Z', true)
ON CONFLICT (id) DO NOTHING;
