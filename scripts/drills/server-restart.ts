// The dev server restarted mid-run on the same database file: runs in flight (some parked on an
// approval) carry on once it is back, and the approved tickets are filed once each.
import { accepted, drillResult, type DrillResult, type Stack } from './stack';
import { approve, ticketCheck } from './worker-kill';

const TICKET = { priority: 'low', details: 'filed by the server-restart drill' };

export async function serverRestart(s: Stack, size: { runs: number }): Promise<DrillResult> {
  const plain = await Promise.all(Array.from({ length: size.runs }, (_, i) => s.dispatch('docs-researcher', `restart ${i}`)));
  const filers = await Promise.all(Array.from({ length: 2 }, (_, i) => s.dispatch('ticket-filer', `Restart drill ${i}`, TICKET)));
  const all = accepted([...plain, ...filers]);
  const parked = accepted(filers);
  await s.restartServer();
  for (const id of parked) await approve(s, id);
  const counts = await s.settle(all, 180_000);
  const tickets = ticketCheck(s, parked);
  return drillResult('server-restart', all, counts, {
    missing: tickets.missing,
    duplicated: tickets.duplicated,
    notes: [`dev server stopped for 2 s and restarted on the same file with ${all.length} runs in flight, ${parked.length} then approved`],
  });
}
