// The run event log's store (governance/events.ts): dedupe on (run_id, seq), tenant-scoped reads after
// an id, type prefixes, retention, and wake-ups — in-process and, on PostgreSQL, across connections.
import { Pool } from 'pg';
import type { NewRunEvent } from '../../contracts/events';
import { RunEventStore } from '../../governance/events';
import { openTestStore, PG_URL, type TestStore } from '../support/governance';

const event = (seq: number, over: Partial<NewRunEvent> = {}): NewRunEvent => ({
  run_id: 'run-a',
  seq,
  tenant: 'acme',
  agent: 'researcher',
  type: 'step.entered',
  at: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(),
  data: { step: seq },
  ...over,
});

describe.each(['postgres', 'pglite'] as const)('run event store on %s', (kind) => {
  let opened: TestStore;
  let events: RunEventStore;
  beforeEach(async () => {
    opened = await openTestStore(kind);
    events = new RunEventStore(opened.sql);
  });
  afterEach(async () => {
    await events.close();
    await opened.close();
  });

  test('a republished event (same run and seq) is stored once; reads come back in seq order', async () => {
    expect(await events.append([event(0, { type: 'run.started' }), event(1), event(2)])).toBe(3);
    // A workflow task retried on another worker publishes the same ids again.
    expect(await events.append([event(1), event(2), event(3, { type: 'step.ended' })])).toBe(1);
    const all = await events.readRun('run-a', 'acme');
    expect(all.map((e) => [e.seq, e.type])).toEqual([
      [0, 'run.started'],
      [1, 'step.entered'],
      [2, 'step.entered'],
      [3, 'step.ended'],
    ]);
    expect(all[1]!.data).toEqual({ step: 1 });
    expect((await events.readRun('run-a', 'acme', 1)).map((e) => e.seq)).toEqual([2, 3]);
    expect(await events.hasSeq('run-a', 'acme', 2)).toBe(true);
    expect(await events.hasSeq('run-a', 'acme', 9)).toBe(false);
  });

  test("another tenant's run reads empty and its ids are not valid resume points", async () => {
    await events.append([event(0), event(1)]);
    expect(await events.readRun('run-a', 'globex')).toEqual([]);
    expect(await events.hasSeq('run-a', 'globex', 0)).toBe(false);
    const [first] = await events.readTenant({ tenant: 'acme' });
    expect(await events.hasId('globex', first!.id)).toBe(false);
    expect(await events.hasId('acme', first!.id)).toBe(true);
  });

  test('tenant reads filter by agent, run and type prefix, and resume after a global id', async () => {
    await events.append([
      event(0, { type: 'run.started' }),
      event(1, { type: 'approval.requested' }),
      event(0, { run_id: 'run-b', agent: 'other', type: 'approval.requested' }),
      event(2, { type: 'approval.decided' }),
      event(0, { run_id: 'run-c', tenant: 'globex', type: 'approval.requested' }),
      // A LIKE wildcard in a filter is matched literally, never as a pattern.
      event(3, { type: 'usage' }),
    ]);
    const approvals = await events.readTenant({ tenant: 'acme', types: ['approval.*'] });
    expect(approvals.map((e) => [e.run_id, e.type])).toEqual([
      ['run-a', 'approval.requested'],
      ['run-b', 'approval.requested'],
      ['run-a', 'approval.decided'],
    ]);
    expect((await events.readTenant({ tenant: 'acme', types: ['approval.*'] }, approvals[0]!.id)).length).toBe(2);
    expect((await events.readTenant({ tenant: 'acme', agent: 'other' })).map((e) => e.run_id)).toEqual(['run-b']);
    expect((await events.readTenant({ tenant: 'acme', types: ['usage', 'run.started'] })).map((e) => e.type)).toEqual([
      'run.started',
      'usage',
    ]);
    expect(await events.readTenant({ tenant: 'acme', types: ['%.*'] })).toEqual([]);
    expect((await events.readTenant({ tenant: 'globex' })).map((e) => e.run_id)).toEqual(['run-c']);
  });

  test('purge deletes what was stored before the cut-off and keeps the rest', async () => {
    await events.append([event(0), event(1)]);
    expect(await events.purge(new Date(Date.now() - 60_000))).toBe(0);
    expect(await events.purge(new Date(Date.now() + 60_000))).toBe(2);
    expect(await events.readRun('run-a', 'acme')).toEqual([]);
  });

  test('an append wakes this process’s readers with the tenant; an unsubscribed reader hears nothing', async () => {
    const heard: string[] = [];
    const stop = events.onNew((t) => heard.push(t));
    await events.append([event(0)]);
    await events.append([event(0)]); // a duplicate adds nothing and wakes nobody
    stop();
    await events.append([event(1)]);
    expect(heard).toEqual(['acme']);
  });
});

test('on PostgreSQL, an insert by another connection (another process) wakes LISTENing readers', async () => {
  const opened = await openTestStore('postgres');
  const events = new RunEventStore(opened.sql);
  try {
    await events.listenPostgres(PG_URL);
    const woken = new Promise<string>((resolve) => {
      const stop = events.onNew((t) => {
        stop();
        resolve(t);
      });
    });
    // Another process's store: its own pool, same schema, its own in-process emitter.
    const writer = new RunEventStore(opened.sql);
    const search = (await opened.sql.query<{ s: string }>('SELECT current_schema() AS s'))[0]!.s;
    const other = new Pool({ connectionString: PG_URL, max: 1, options: `-c search_path=${search}` });
    try {
      await other.query(
        "INSERT INTO run_events (run_id, seq, tenant, agent, type, at) VALUES ('run-x', 0, 'initech', 'a', 'run.started', now())",
      );
      expect(await woken).toBe('initech');
      expect((await writer.readRun('run-x', 'initech')).map((e) => e.type)).toEqual(['run.started']);
    } finally {
      await other.end();
    }
  } finally {
    await events.close();
    await opened.close();
  }
});
