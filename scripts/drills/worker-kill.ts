// The worker SIGKILLed while runs are in flight, and again right after an approval of a write: every run
// completes on the next worker and the approved ticket is filed exactly once.
import { eventually } from './processes';
import { accepted, drillResult, type DrillResult, type Stack } from './stack';

const TICKET = { priority: 'low', details: 'filed by the worker-kill drill' };

/** A run's pending approval, once it has one. */
export function pendingApproval(s: Stack, runId: string): Promise<{ id: string; args_hash: string }> {
  return eventually(
    async () => {
      const run = await s.api('GET', `/v1/runs/${runId}`);
      return (run.body.approvals as { id: string; args_hash: string; status: string }[] | undefined)?.find((a) => a.status === 'pending');
    },
    60_000,
    `the approval of ${runId}`,
  );
}

/** Approves a run's pending approval (waiting for it unless given). */
export async function approve(s: Stack, runId: string, pending?: { id: string; args_hash: string }): Promise<void> {
  const { id, args_hash } = pending ?? (await pendingApproval(s, runId));
  const res = await s.api('POST', `/v1/runs/${runId}/approvals/${id}`, { decision: 'approve', args_hash });
  if (res.status !== 200) throw new Error(`approving ${runId} answered ${res.status}: ${JSON.stringify(res.body)}`);
}

/** Counts the tickets filed more than once (by run), and the approved runs that filed none. */
export function ticketCheck(s: Stack, approved: string[]): { duplicated: number; missing: number } {
  const tickets = s.tickets();
  let duplicated = 0;
  for (const n of tickets.values()) duplicated += Math.max(0, n - 1);
  return { duplicated, missing: approved.filter((id) => !tickets.has(id)).length };
}

export async function workerKill(s: Stack, size: { runs: number }): Promise<DrillResult> {
  const ids = accepted(
    await Promise.all(Array.from({ length: size.runs }, (_, i) => s.dispatch('docs-researcher', `How are runs recorded? (${i})`))),
  );
  await s.restartWorker('SIGKILL');
  const filer = await s.dispatch('ticket-filer', 'Disk full on db-1', TICKET);
  if (!filer) throw new Error('the gateway did not accept the ticket-filer run');
  await approve(s, filer);
  // Right after the approval: the ticket is being filed, or about to be.
  await s.restartWorker('SIGKILL');
  const all = [...ids, filer];
  const counts = await s.settle(all);
  const tickets = ticketCheck(s, [filer]);
  return drillResult('worker-kill', all, counts, {
    missing: tickets.missing,
    duplicated: tickets.duplicated,
    notes: [
      `worker SIGKILLed twice: with ${ids.length} runs in flight, and right after approving ${filer}`,
      `tickets filed: ${s.tickets().size}`,
    ],
  });
}
