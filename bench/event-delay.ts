// How long a step's end takes to reach a watcher of GET /v1/runs/{id}/events (issue 22's target:
// p50 ≤ 100 ms, p99 ≤ 250 ms on the dev server). A measurement, printed, not a test: it starts the
// benchmark stack (its own dev server, worker and gateway, embedded PGlite unless
// GOVERNANCE_DATABASE_URL is set), dispatches EVENT_DELAY_RUNS docs-researcher runs one after another,
// watches each, and takes for every step.ended event the time from the step's ended_at (the workflow's
// clock: the start of the workflow task that ended it) to the frame's arrival, for steps that ended
// after the stream opened.
//   npm run build && node dist/bench/event-delay.js
import { startBench } from './harness';
import { gw } from './gateway';
import { latencies } from './stats';

async function watchRun(url: string, key: string, delays: number[]): Promise<void> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream' } });
  if (res.status !== 200) throw new Error(`GET ${url} answered ${res.status}`);
  // Events that ended before the stream was open are a replay, not a delivery: only later ones count.
  const opened = Date.now();
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    const now = Date.now();
    buffer += value;
    let cut: number;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const data = block.split('\n').find((l) => l.startsWith('data: '));
      if (!data) continue;
      const e = JSON.parse(data.slice(6)) as { type: string; data: { step?: { ended_at?: string } } };
      const ended = e.type === 'step.ended' && e.data.step?.ended_at ? Date.parse(e.data.step.ended_at) : undefined;
      if (ended !== undefined && ended >= opened) delays.push(now - ended);
    }
  }
}

async function main(): Promise<void> {
  const runs = Number(process.env.EVENT_DELAY_RUNS ?? 30);
  const b = await startBench([1]);
  const delays: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const run = await gw(b, 'POST', '/v1/runs', b.keys.dispatcher, { agent: 'docs-researcher', task: 'How do I dispatch a run?' });
      await watchRun(`${b.gatewayUrl}/v1/runs/${String(run.run_id)}/events`, b.keys.dispatcher, delays);
    }
  } finally {
    await b.stop();
  }
  const l = latencies([...delays].sort((x, y) => x - y));
  process.stdout.write(`step.ended → client over ${l.n} events of ${runs} runs: p50 ${l.p50} ms, p95 ${l.p95} ms, p99 ${l.p99} ms\n`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
