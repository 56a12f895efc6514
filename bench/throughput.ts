// Sustained throughput: runs dispatched at a steady rate for a while, rate after rate; the highest rate
// whose runs all complete with p99 end-to-end latency under the bound, for each arm.
import type { Bench } from './harness';
import { latencies } from './stats';

export interface Sustained {
  /** The highest rate (runs/s) that held, 0 if none did. */
  rate: number;
  /** Each rate tried: its p99 (ms) and whether it held. */
  tried: { rate: number; p99: number; held: boolean }[];
}

/** One arm at one rate: starts `rate` runs a second for `seconds`, and the p99 of their end-to-end latencies. */
async function atRate(b: Bench, workflow: 'rawRun' | 'agentRun', rate: number, seconds: number): Promise<number> {
  const runs: Promise<number>[] = [];
  const t0 = performance.now();
  for (let i = 0; i < rate * seconds; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const started = performance.now();
    runs.push(
      b.client.workflow
        .execute(workflow, { taskQueue: b.taskQueue, workflowId: b.id(`rate-${workflow}`), args: [b.input('docs-researcher')] })
        .then(() => performance.now() - started),
    );
  }
  return latencies(await Promise.all(runs)).p99;
}

/** Both arms up a ladder of rates, taking turns at each rate; an arm stops at its first rate that does not hold. */
export async function sustained(
  b: Bench,
  o: { rates: number[]; seconds: number; p99Ms: number },
): Promise<{ raw: Sustained; platform: Sustained }> {
  const arms = {
    raw: { workflow: 'rawRun' as const, rate: 0, tried: [] as Sustained['tried'], done: false },
    platform: { workflow: 'agentRun' as const, rate: 0, tried: [] as Sustained['tried'], done: false },
  };
  for (const rate of o.rates) {
    for (const a of [arms.raw, arms.platform]) {
      if (a.done) continue;
      const p99 = await atRate(b, a.workflow, rate, o.seconds);
      const held = p99 <= o.p99Ms;
      a.tried.push({ rate, p99, held });
      if (held) a.rate = rate;
      else a.done = true;
    }
    if (arms.raw.done && arms.platform.done) break;
  }
  return { raw: { rate: arms.raw.rate, tried: arms.raw.tried }, platform: { rate: arms.platform.rate, tried: arms.platform.tried } };
}
