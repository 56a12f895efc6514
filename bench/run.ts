// `npm run bench`: what the control plane costs over raw Temporal doing the same work, as ratios
// measured in one run on one dev server (bench/README.md lists the scenarios and settings). Prints a
// table and writes the numbers as JSON (BENCH_OUT, default bench/results/latest.json).
import { PROJECT_ROOT } from '../config/settings';
import { endToEnd, traced, type RunShape } from './e2e';
import { approval, dispatch } from './gateway';
import { startBench } from './harness';
import { parkedMemory } from './memory';
import { row, table, writeJson, type Row } from './report';
import { sustained } from './throughput';
import path from 'node:path';

const QUICK = process.env.BENCH_QUICK === '1';
const num = (name: string, full: number, quick: number) => Number(process.env[name] ?? (QUICK ? quick : full));
const STEPS = [1, 5, 20];

async function main(): Promise<void> {
  const shape: RunShape = {
    runs: num('BENCH_RUNS', 60, 16),
    concurrency: num('BENCH_CONCURRENCY', 10, 8),
    rounds: num('BENCH_ROUNDS', 3, 2),
    warmup: num('BENCH_WARMUP', 10, 3),
  };
  const ks = (process.env.BENCH_PARKED ?? (QUICK ? '50,200' : '100,1000')).split(',').map(Number);
  const p99Ms = num('BENCH_P99_MS', 2000, 2000);
  const rates = (process.env.BENCH_RATES ?? (QUICK ? '2,5,10,20' : '2,5,10,15,20,25,30,40')).split(',').map(Number);
  const rateSeconds = num('BENCH_RATE_SECONDS', 10, 4);
  const b = await startBench(STEPS.filter((n) => n !== 1));
  const log = (m: string) => process.stderr.write(`bench: ${m}\n`);
  try {
    log(`${b.machine}${QUICK ? ' (quick)' : ''}`);
    log('dispatch');
    const d = await dispatch(b, shape);
    log('end to end');
    const e = await endToEnd(b, STEPS, shape);
    log('approval round trip');
    const a = await approval(b, { ...shape, runs: Math.max(shape.rounds * 2, Math.round(shape.runs / 2)) });
    log('sustained throughput');
    const t = await sustained(b, { rates, seconds: rateSeconds, p99Ms });
    log(`parked runs (K = ${ks.join(', ')})`);
    const m = await parkedMemory(b, ks);
    log('tracing');
    const tr = await traced(b, shape);

    const h = e.histories;
    const perStep = (kind: 'raw' | 'platform', field: 'events' | 'bytes') => (h[`${kind}-20`]![field] - h[`${kind}-1`]![field]) / 19;
    const rows: Row[] = [
      row('dispatch', 'p50 ms', d.raw.p50, d.platform.p50, { kind: 'max-diff', value: 5, unit: 'ms' }),
      row('dispatch', 'p99 ms', d.raw.p99, d.platform.p99),
      ...STEPS.flatMap((n) => [
        row(`e2e N=${n}`, 'runs/s', e.steps[n]!.raw.throughput, e.steps[n]!.platform.throughput, { kind: 'min-ratio', value: 0.9 }),
        row(`e2e N=${n}`, 'p50 ms', e.steps[n]!.raw.p50, e.steps[n]!.platform.p50),
      ]),
      row('e2e N=1 + tenant budget', 'runs/s', e.steps[1]!.raw.throughput, e.budgeted.throughput, { kind: 'min-ratio', value: 0.85 }),
      row('e2e N=1 + tracing', 'runs/s', tr.raw.throughput, tr.platform.throughput, { kind: 'min-ratio', value: 0.9 }),
      row('approval round trip', 'p50 ms', a.raw.p50, a.platform.p50, { kind: 'max-ratio', value: 1.1 }),
      row('approval round trip', 'p99 ms', a.raw.p99, a.platform.p99),
      row(`sustained (p99 ≤ ${p99Ms} ms)`, 'runs/s', t.raw.rate, t.platform.rate, { kind: 'min-ratio', value: 0.9 }),
      row('history N=1', 'events/run', h['raw-1']!.events, h['platform-1']!.events),
      row('history N=1', 'KiB/run', h['raw-1']!.bytes / 1024, h['platform-1']!.bytes / 1024),
      row('history', 'events/step', perStep('raw', 'events'), perStep('platform', 'events'), {
        kind: 'max-diff',
        value: 1,
        unit: 'events',
      }),
      row('history', 'bytes/step', perStep('raw', 'bytes'), perStep('platform', 'bytes')),
      row('history N=1 + tenant budget', 'events/run', h['raw-1']!.events, h['budgeted-1']!.events),
      ...ks.map((k, i) =>
        row(`parked K=${k}`, 'RSS KiB/run', m.raw[i]!.rss_kib_per_run, m.platform[i]!.rss_kib_per_run, { kind: 'max-ratio', value: 1.5 }),
      ),
      ...ks.map((k, i) => row(`parked K=${k}`, 'heap KiB/run', m.raw[i]!.heap_kib_per_run, m.platform[i]!.heap_kib_per_run)),
    ];
    const out = writeJson(process.env.BENCH_OUT ?? path.join(PROJECT_ROOT, 'bench', 'results', 'latest.json'), {
      at: new Date().toISOString(),
      machine: b.machine,
      quick: QUICK,
      settings: { ...shape, parked: ks, p99_ms: p99Ms, rates, rate_seconds: rateSeconds },
      rows,
      raw: { dispatch: d, e2e: e, approval: a, sustained: t, parked: m, traced: tr },
    });
    process.stdout.write(
      [
        `Benchmark${QUICK ? ' (quick)' : ''}: ${b.machine}`,
        `e2e: ${shape.runs} runs an arm at N=1 (fewer for longer runs) in ${shape.rounds} interleaved rounds, concurrency ${shape.concurrency}, after ${shape.warmup} warm-up runs`,
        '',
        table(rows),
        '',
        `sustained: raw ${JSON.stringify(t.raw.tried)}; platform ${JSON.stringify(t.platform.tried)}`,
        `JSON: ${out}`,
        '',
      ].join('\n'),
    );
  } finally {
    await b.stop();
  }
}

main().catch((err: unknown) => {
  console.error(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
