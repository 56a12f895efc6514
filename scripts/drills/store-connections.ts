// The governance store's pooled connections terminated (pg_terminate_backend) while runs are in flight,
// twice: the worker's local activities and the gateway's audit writes reconnect, every run completes.
import { accepted, drillResult, type DrillResult, type Stack } from './stack';

/** Terminates every connection the platform holds to its schema; how many there were. */
async function terminate(s: Stack): Promise<number> {
  const res = await s.admin.query<{ n: string }>(
    'SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()',
    [s.schema],
  );
  return Number(res.rows[0]?.n ?? 0);
}

export async function storeConnections(s: Stack, size: { runs: number }): Promise<DrillResult> {
  const first = await Promise.all(Array.from({ length: size.runs }, (_, i) => s.dispatch('docs-researcher', `store ${i}`)));
  const killed = [await terminate(s)];
  const second = await Promise.all(Array.from({ length: size.runs }, (_, i) => s.dispatch('docs-researcher', `store again ${i}`)));
  killed.push(await terminate(s));
  const sent = first.length + second.length;
  const ids = accepted([...first, ...second]);
  const counts = await s.settle(ids, 180_000);
  return drillResult('store-connections', ids, counts, {
    notes: [
      `terminated ${killed.join(' then ')} pooled store connections with runs in flight; the gateway accepted ${ids.length} of ${sent} dispatches (a refusal is an error the caller sees)`,
    ],
  });
}
