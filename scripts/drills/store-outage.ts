// The governance store unreachable for a while (a TCP proxy in front of PostgreSQL closed: connections
// refused and the open ones cut), with dispatches and approvals going on: what the gateway accepted
// completes, each approved ticket is filed once, and the audit rows of the dispatches and decisions
// made while it was down are written once it is back.
import { freePort } from '../../temporal/dev-server';
import { pgProxy, type PgProxy } from '../fakes/pg-proxy';
import { eventually } from './processes';
import { accepted, drillResult, type DrillResult, type Stack } from './stack';
import { approve, pendingApproval, ticketCheck } from './worker-kill';

const TICKET = { priority: 'low', details: 'filed by the store-outage drill' };

/** A proxy to the drill's store, and the worker and the gateway restarted to reach the store through it. */
async function proxiedStore(s: Stack): Promise<PgProxy> {
  const url = new URL(s.storeUrl);
  const proxy = pgProxy(await freePort(), { host: url.hostname, port: Number(url.port || 5432) });
  await proxy.up();
  url.hostname = '127.0.0.1';
  url.port = String(proxy.port);
  await s.restartWith({ GOVERNANCE_DATABASE_URL: url.toString() });
  return proxy;
}

/** Each run's audit rows of `action`, read directly from PostgreSQL: how many runs have none, how many extra. */
async function auditRows(s: Stack, runIds: string[], action: string): Promise<{ missing: number; extra: number }> {
  const res = await s.admin.query<{ run_id: string; n: string }>(
    `SELECT run_id, count(*) AS n FROM ${s.schema}.audit_ledger WHERE run_id = ANY($1) AND action = $2 GROUP BY run_id`,
    [runIds, action],
  );
  const extra = res.rows.reduce((sum, r) => sum + Number(r.n) - 1, 0);
  return { missing: runIds.length - res.rows.length, extra };
}

export async function storeOutage(s: Stack, size: { runs: number; filers: number; downSeconds: number }): Promise<DrillResult> {
  const proxy = await proxiedStore(s);
  try {
    const dispatch = (what: string, n: number) =>
      Promise.all(Array.from({ length: n }, (_, i) => s.dispatch('docs-researcher', `store outage: ${what} ${i}`)));
    const filers = accepted(
      await Promise.all(Array.from({ length: size.filers }, (_, i) => s.dispatch('ticket-filer', `Store outage ${i}`, TICKET))),
    );
    const pending = await Promise.all(filers.map((id) => pendingApproval(s, id)));
    const before = await dispatch('before', size.runs / 2);
    proxy.down();
    const t0 = Date.now();
    const during = await dispatch('during', size.runs / 2);
    for (const [i, id] of filers.entries()) await approve(s, id, pending[i]);
    await new Promise((r) => setTimeout(r, Math.max(0, t0 + size.downSeconds * 1000 - Date.now())));
    const acceptedWhileDown = accepted(during);
    // Proof the store was out of reach: no row yet for what happened while it was down.
    const whileDown = await auditRows(s, acceptedWhileDown, 'dispatch');
    const decidedWhileDown = await auditRows(s, filers, 'approval.decide');
    await proxy.up();
    const back = Date.now();
    const sent = size.filers + before.length + during.length;
    const plain = accepted([...before, ...during]);
    const all = [...plain, ...filers];
    const counts = await s.settle(all, 240_000);
    const tickets = ticketCheck(s, filers);
    // The rows written from the gateway's backlog once the store is back: give it a moment.
    const rows = async () => ({ dispatch: await auditRows(s, all, 'dispatch'), decide: await auditRows(s, filers, 'approval.decide') });
    await eventually(async () => {
      const r = await rows();
      return r.dispatch.missing + r.decide.missing === 0 ? true : undefined;
    }, 30_000).catch(() => undefined);
    const audit = await rows();
    const rowsDelayS = ((Date.now() - back) / 1000).toFixed(1);
    return drillResult('store-outage', all, counts, {
      missing: tickets.missing + audit.dispatch.missing + audit.decide.missing,
      duplicated: tickets.duplicated + audit.dispatch.extra + audit.decide.extra,
      notes: [
        `store behind a proxy, closed for ${size.downSeconds} s: ${acceptedWhileDown.length} of ${during.length} dispatches accepted and ${filers.length} approvals decided while it was down; accepted ${all.length} of ${sent} in all`,
        `audit rows of those while down: dispatch ${acceptedWhileDown.length - whileDown.missing}, approval.decide ${filers.length - decidedWhileDown.missing}`,
        `audit rows ${rowsDelayS} s after it was back (runs settled): dispatch for ${all.length - audit.dispatch.missing} of ${all.length} runs, approval.decide for ${filers.length - audit.decide.missing} of ${filers.length} (extra rows: ${audit.dispatch.extra + audit.decide.extra}); tickets filed ${s.tickets().size}, duplicated ${tickets.duplicated}`,
      ],
    });
  } finally {
    proxy.down();
  }
}
