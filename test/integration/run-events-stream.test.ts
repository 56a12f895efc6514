// GET /v1/runs/{id}/events end to end (docs/events.md): a real gateway and worker on the test Temporal
// server, watched over real HTTP. Resumption with Last-Event-ID, tenant scope, bad ids, the watcher
// bound, redaction of classified context, and that watching adds nothing to the run's history.
import { randomUUID } from 'node:crypto';
import { temporal } from '@temporalio/proto';
import { runEventsOf } from '../../governance/events';
import { approvePending, http, startPlatform, waitForRun, type TestPlatform } from '../support/platform';
import { watch, type SseEvent } from '../support/sse';

let p: TestPlatform;
beforeAll(async () => {
  p = await startPlatform();
});
afterAll(async () => {
  await p?.stop();
});

const TERMINAL = ['run.completed', 'run.failed', 'run.cancelled', 'run.taken_over'];
const isTerminal = (es: SseEvent[]) => es.some((e) => TERMINAL.includes(e.event));
const url = (runId: string, query = '') => `${p.baseUrl}/v1/runs/${runId}/events${query}`;

/** A ticket-filer run: it pauses on a human approval before filing. */
async function dispatchTicket(context: Record<string, unknown> = { priority: 'low', details: 'disk full on db-1' }, labels?: object) {
  const res = await http(p, 'POST', '/v1/runs', {
    agent: 'ticket-filer',
    task: 'disk full',
    context,
    ...(labels ? { context_labels: labels } : {}),
  });
  expect(res.status).toBe(202);
  return res.body.run_id as string;
}

const asked = (es: SseEvent[]) => es.some((e) => e.event === 'approval.requested');

test('a watcher that drops mid-run and comes back with Last-Event-ID gets every event exactly once, in order', async () => {
  const runId = await dispatchTicket();
  const first = await watch(url(runId), p.auth);
  expect(first.status).toBe(200);
  await first.waitFor(asked);
  first.close();
  const seen = [...first.events];
  const last = seen.at(-1)!.id!;

  await approvePending(p, runId, 'alice');
  const second = await watch(url(runId), { ...p.auth, 'last-event-id': last });
  await second.waitFor(isTerminal);
  await second.ended;
  const all = [...seen, ...second.events];

  const ids = all.map((e) => Number(e.id));
  expect(new Set(ids).size).toBe(ids.length);
  expect([...ids].sort((a, b) => a - b)).toEqual(ids);
  const stored = await runEventsOf(p.governance).readRun(runId, 'default');
  expect(ids).toEqual(stored.map((e) => e.seq));
  expect(all.map((e) => e.event)).toEqual(stored.map((e) => e.type));
  expect(all[0]!.event).toBe('run.started');
  expect(all.at(-1)!.event).toBe('run.completed');
  expect(all.filter((e) => e.event === 'approval.decided').map((e) => e.data.data)).toEqual([
    expect.objectContaining({ status: 'approved' }),
  ]);
  // ?after= resumes the same way as the header.
  const again = await watch(url(runId, `?after=${last}`), p.auth);
  await again.ended;
  expect(again.events.map((e) => e.id)).toEqual(second.events.map((e) => e.id));
});

test('the run’s history has as many events with 50 watchers as with none', async () => {
  // The run's own events by type. Workflow-task events are left out: how many tasks a run takes depends on
  // when an update lands relative to the worker's polls (it varies between two runs with no watcher at
  // all); every event a watcher could cause (signal, update, query-made task, marker) is counted.
  const historyLength = async (runId: string) => {
    const events = (await p.client.workflow.getHandle(runId).fetchHistory()).events ?? [];
    const counts: Record<string, number> = {};
    for (const e of events) {
      const type = temporal.api.enums.v1.EventType[e.eventType ?? 0] ?? String(e.eventType);
      if (type.startsWith('EVENT_TYPE_WORKFLOW_TASK_')) continue;
      counts[type] = (counts[type] ?? 0) + 1;
    }
    return counts;
  };

  const alone = await dispatchTicket();
  await approvePending(p, alone, 'alice');
  await waitForRun(p, alone);

  const watched = await dispatchTicket();
  const watchers = await Promise.all(Array.from({ length: 50 }, () => watch(url(watched), p.auth)));
  expect(watchers.map((w) => w.status)).toEqual(Array(50).fill(200));
  await Promise.all(watchers.map((w) => w.waitFor(asked)));
  await approvePending(p, watched, 'alice');
  await Promise.all(watchers.map((w) => w.waitFor(isTerminal)));
  await Promise.all(watchers.map((w) => w.ended));
  await waitForRun(p, watched);

  expect(await historyLength(watched)).toEqual(await historyLength(alone));
  const counts = new Set(watchers.map((w) => w.events.length));
  expect(counts.size).toBe(1);
});

test('a classified context value never appears in any event', async () => {
  const secret = `salary-${randomUUID()}`;
  const runId = await dispatchTicket({ priority: 'low', details: `disk full, ${secret}` }, { details: 'confidential' });
  const w = await watch(url(runId), p.auth);
  await w.waitFor((es) => asked(es) || isTerminal(es));
  if (!isTerminal(w.events)) await approvePending(p, runId, 'alice');
  await w.waitFor(isTerminal);
  expect(JSON.stringify(w.events)).not.toContain(secret);
  const stored = await runEventsOf(p.governance).readRun(runId, 'default');
  expect(stored.length).toBe(w.events.length);
  expect(JSON.stringify(stored)).not.toContain(secret);
});

test('another tenant’s run is a 404, a Last-Event-ID that is not one of the run’s ids a 400', async () => {
  const res = await http(p, 'POST', '/v1/runs', { agent: 'docs-researcher', task: 'How do I dispatch a run?' });
  const runId = res.body.run_id as string;
  const w = await watch(url(runId), p.auth);
  await w.waitFor(isTerminal);

  const foreign = await watch(url(runId), p.as({ subject: 'eve', tenant: 'globex', roles: ['dispatcher'] }));
  expect(foreign.status).toBe(404);
  expect(foreign.headers.get('content-type')).toMatch(/application\/problem\+json/);

  for (const bad of ['abc', '-1', '1.5', '999999999999']) {
    const r = await watch(url(runId), { ...p.auth, 'last-event-id': bad });
    expect([bad, r.status, r.problem?.type]).toEqual([bad, 400, expect.stringContaining('invalid-last-event-id')]);
  }
  const badQuery = await watch(url(runId, '?after=nope'), p.auth);
  expect(badQuery.status).toBe(400);
});

describe('with one watcher allowed', () => {
  let small: TestPlatform;
  beforeAll(async () => {
    small = await startPlatform({ events: { heartbeatSeconds: 1, maxWatchers: 1 } });
  });
  afterAll(async () => {
    await small?.stop();
  });

  test('a second watcher is refused with a 503 and Retry-After; an idle stream gets heartbeats; the place frees on disconnect', async () => {
    const res = await http(small, 'POST', '/v1/runs', {
      agent: 'ticket-filer',
      task: 'disk full',
      context: { priority: 'low', details: 'disk full on db-2' },
    });
    const runId = res.body.run_id as string;
    const events = `${small.baseUrl}/v1/runs/${runId}/events`;
    const one = await watch(events, small.auth);
    expect(one.status).toBe(200);
    await one.waitFor(asked);

    const two = await watch(events, small.auth);
    expect(two.status).toBe(503);
    expect(Number(two.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(two.problem?.type).toEqual(expect.stringContaining('too-many-watchers'));

    // Paused on the approval, the stream is idle: only heartbeat comments arrive.
    const before = one.events.length;
    while (!one.comments.includes('heartbeat')) await new Promise((r) => setTimeout(r, 100));
    expect(one.events.length).toBe(before);
    one.close();
    await one.ended;

    // The place is given back when the gateway sees the connection close.
    let three = await watch(events, small.auth);
    while (three.status === 503) {
      await new Promise((r) => setTimeout(r, 100));
      three = await watch(events, small.auth);
    }
    expect(three.status).toBe(200);
    await approvePending(small, runId, 'alice');
    await three.waitFor(isTerminal);
  });
});

test('GET /v1/events: the tenant’s events across runs, resumable by global id; an approver alone sees approval.* only', async () => {
  const runId = await dispatchTicket();
  const all = await watch(`${p.baseUrl}/v1/events?run_id=${runId}`, p.auth);
  expect(all.status).toBe(200);
  await all.waitFor(asked);
  const approver = await watch(`${p.baseUrl}/v1/events?run_id=${runId}`, p.as({ subject: 'alice', roles: ['approver'] }));
  await approver.waitFor(asked);
  all.close();
  const resumeAt = all.events.at(-1)!.id!;
  await approvePending(p, runId, 'alice');
  const rest = await watch(`${p.baseUrl}/v1/events?run_id=${runId}`, { ...p.auth, 'last-event-id': resumeAt });
  await rest.waitFor(isTerminal);
  rest.close();
  await approver.waitFor((es) => es.some((e) => e.event === 'approval.decided'));
  approver.close();

  const stored = await runEventsOf(p.governance).readRun(runId, 'default');
  const seen = [...all.events, ...rest.events];
  expect(seen.map((e) => e.data.seq)).toEqual(stored.map((e) => e.seq));
  expect(seen.map((e) => Number(e.id))).toEqual(stored.map((e) => e.id));
  expect(new Set(approver.events.map((e) => e.event))).toEqual(new Set(['approval.requested', 'approval.decided']));

  const forbidden = await watch(`${p.baseUrl}/v1/events?types=step.ended`, p.as({ subject: 'alice', roles: ['approver'] }));
  expect(forbidden.status).toBe(403);
  // Another tenant neither sees these events nor may resume from their ids.
  const foreign = await watch(`${p.baseUrl}/v1/events`, {
    ...p.as({ subject: 'eve', tenant: 'globex', roles: ['dispatcher'] }),
    'last-event-id': resumeAt,
  });
  expect(foreign.status).toBe(400);
});
