// Through the gateway: a dispatch (`POST /v1/runs`: auth, rate limit, policy, idempotency, the start)
// against a bare client.workflow.start of the same run, and the approval round trip (the HTTP decision
// until the approved tool call's activity starts) against a raw update to a parked raw workflow.
import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { agentRun } from '../workflows';
import type { Bench } from './harness';
import type { RunShape } from './e2e';
import { arm, interleaved, summary, type Summary } from './stats';
import { rawApproveUpdate, rawParkedQuery } from './workflows';

const { EventType } = temporal.api.enums.v1;
const TICKET_CONTEXT = { priority: 'low', details: 'benchmark approval round trip' };

/** A JSON request to the gateway with a key; throws on an unexpected status. */
export async function gw(b: Bench, method: string, route: string, key: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${b.gatewayUrl}${route}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (res.status >= 300) throw new Error(`${method} ${route} answered ${res.status}: ${JSON.stringify(json)}`);
  return json;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Dispatch latency, one request at a time: the gateway against a bare start. */
export async function dispatch(b: Bench, o: RunShape): Promise<{ raw: Summary; platform: Summary }> {
  const raw = arm('raw-start', o.runs, async () => {
    const t0 = performance.now();
    await b.client.workflow.start(agentRun, { taskQueue: b.taskQueue, workflowId: b.id('start'), args: [b.input('docs-researcher')] });
    return performance.now() - t0;
  });
  const platform = arm('gateway-dispatch', o.runs, async () => {
    const t0 = performance.now();
    await gw(
      b,
      'POST',
      '/v1/runs',
      b.keys.dispatcher,
      { agent: 'docs-researcher', task: 'How do I dispatch a run?' },
      { 'idempotency-key': randomUUID() },
    );
    return performance.now() - t0;
  });
  await interleaved([raw, platform], { ...o, concurrency: 1 });
  return { raw: summary(raw), platform: summary(platform) };
}

/** When the first activity after the update started (server time), from the run's history. */
async function activityAfterUpdate(handle: WorkflowHandle): Promise<number> {
  await handle.result().catch(() => undefined);
  const events = (await handle.fetchHistory()).events ?? [];
  const accepted = events.findIndex((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED);
  const started = events.slice(accepted).find((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED);
  if (accepted < 0 || !started) throw new Error(`run ${handle.workflowId}: no activity started after the update`);
  return tsToMs(started.eventTime);
}

/** The approval round trip: ticket-filer approved over HTTP against rawApproval approved by a raw update. */
export async function approval(b: Bench, o: RunShape): Promise<{ raw: Summary; platform: Summary }> {
  const raw = arm('raw-update', o.runs, async () => {
    const handle = await b.client.workflow.start('rawApproval', {
      taskQueue: b.taskQueue,
      workflowId: b.id('raw-approval'),
      args: [b.input('ticket-filer', TICKET_CONTEXT)],
    });
    while (!(await handle.query(rawParkedQuery).catch(() => false))) await pause(25);
    const t0 = Date.now();
    await handle.executeUpdate(rawApproveUpdate, { args: [true] });
    return (await activityAfterUpdate(handle)) - t0;
  });
  const platform = arm('gateway-approval', o.runs, async () => {
    const { run_id } = (await gw(b, 'POST', '/v1/runs', b.keys.dispatcher, {
      agent: 'ticket-filer',
      task: 'Disk full',
      context: TICKET_CONTEXT,
    })) as {
      run_id: string;
    };
    let pending: { id: string; args_hash: string } | undefined;
    while (!pending) {
      const run = await gw(b, 'GET', `/v1/runs/${run_id}`, b.keys.approver);
      pending = (run.approvals as { id: string; args_hash: string; status: string }[] | undefined)?.find((a) => a.status === 'pending');
      if (!pending) await pause(25);
    }
    const t0 = Date.now();
    await gw(b, 'POST', `/v1/runs/${run_id}/approvals/${pending.id}`, b.keys.approver, {
      decision: 'approve',
      args_hash: pending.args_hash,
    });
    return (await activityAfterUpdate(b.client.workflow.getHandle(run_id))) - t0;
  });
  await interleaved([raw, platform], { ...o, concurrency: Math.min(o.concurrency, 4) });
  return { raw: summary(raw), platform: summary(platform) };
}
