// Numbers the benchmark computes: percentiles, and scenarios measured in interleaved rounds so drift
// over the run (a server warming up, its store growing) weighs on every arm alike.

/** A percentile of a sorted list (nearest rank). */
export const percentile = (sorted: number[], p: number): number =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

/** p50, p95 and p99 of some latencies, in ms. */
export function latencies(values: number[]): { p50: number; p95: number; p99: number; n: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99), n: sorted.length };
}

/** One arm of a comparison: what one run does, and what it measured. */
export interface Arm {
  name: string;
  /** Does one run and returns its latency in ms. */
  once: () => Promise<number>;
  /** Runs per round. */
  runs: number;
  latencies: number[];
  seconds: number;
  done: number;
}

export const arm = (name: string, runs: number, once: () => Promise<number>): Arm => ({
  name,
  once,
  runs,
  latencies: [],
  seconds: 0,
  done: 0,
});

/** Measures the arms in `rounds` rounds that take them in turn, `concurrency` runs in flight, after a warm-up. */
export async function interleaved(arms: Arm[], o: { rounds: number; concurrency: number; warmup: number }): Promise<void> {
  for (const a of arms) for (let i = 0; i < o.warmup; i++) await a.once();
  for (let r = 0; r < o.rounds; r++) {
    for (const a of arms) {
      const runs = Math.max(1, Math.round(a.runs / o.rounds));
      let next = 0;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: Math.min(o.concurrency, runs) }, async () => {
          while (next++ < runs) a.latencies.push(await a.once());
        }),
      );
      a.seconds += (performance.now() - t0) / 1000;
      a.done += runs;
    }
  }
}

/** Throughput (runs/s) and latencies of a measured arm. */
export const summary = (a: Arm) => ({ arm: a.name, runs: a.done, throughput: a.done / a.seconds, ...latencies(a.latencies) });
export type Summary = ReturnType<typeof summary>;
