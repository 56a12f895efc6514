// Worker memory: the resident set the worker's process grows by per run parked on an approval, with K
// runs parked at once; agentRun (ticket-filer waiting in HumanApproval) against rawApproval (parked
// on a bare update). Needs --expose-gc, so each measurement starts from a collected heap.
import type { WorkflowHandle } from '@temporalio/client';
import { stateQuery } from '../workflows/messages';
import type { Bench } from './harness';
import { rawParkedQuery } from './workflows';

const TICKET_CONTEXT = { priority: 'low', details: 'benchmark parked run' };
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** RSS and heap per parked run, in KiB. */
export interface Parked {
  k: number;
  rss_kib_per_run: number;
  heap_kib_per_run: number;
}

function collected(): NodeJS.MemoryUsage {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('the memory scenario needs node --expose-gc (npm run bench passes it)');
  gc();
  gc();
  return process.memoryUsage();
}

/** Runs `work` over items, `width` at a time. */
async function pool<T>(items: T[], width: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

/** Parks k runs of one arm, measures, then terminates them. */
async function park(b: Bench, kind: 'raw' | 'platform', k: number): Promise<Parked> {
  const before = collected();
  const handles: WorkflowHandle[] = [];
  await pool([...Array(k).keys()], 20, async () => {
    handles.push(
      await b.client.workflow.start(kind === 'raw' ? 'rawApproval' : 'agentRun', {
        taskQueue: b.taskQueue,
        workflowId: b.id(`parked-${kind}`),
        args: [b.input('ticket-filer', TICKET_CONTEXT)],
      }),
    );
  });
  // Parked means: the raw run waits for its update, the agent run sits in HumanApproval.
  await pool(handles, 20, async (h) => {
    for (;;) {
      const parked =
        kind === 'raw'
          ? await h.query(rawParkedQuery).catch(() => false)
          : (await h.query(stateQuery).catch(() => undefined))?.current === 'HumanApproval';
      if (parked) return;
      await pause(100);
    }
  });
  const after = collected();
  await pool(handles, 20, (h) => h.terminate('benchmark done'));
  await pause(2000);
  return {
    k,
    rss_kib_per_run: (after.rss - before.rss) / 1024 / k,
    heap_kib_per_run: (after.heapUsed - before.heapUsed) / 1024 / k,
  };
}

/** Both arms at each K, raw first. */
export async function parkedMemory(b: Bench, ks: number[]): Promise<{ raw: Parked[]; platform: Parked[] }> {
  const raw: Parked[] = [];
  const platform: Parked[] = [];
  for (const k of ks) {
    raw.push(await park(b, 'raw', k));
    platform.push(await park(b, 'platform', k));
  }
  return { raw, platform };
}
