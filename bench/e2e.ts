// End to end: the example task at N = 1, 5 and 20 tool steps on the scripted planner, agentRun against
// rawRun doing the same plan and tool activities; the run under a tenant budget; the same with tracing
// on; and what each run leaves in its history (events and bytes, per run and per step).
import type { Client } from '@temporalio/client';
import { installTracing } from '../observability/tracing';
import { historyStats, type HistoryStats } from '../temporal/history';
import type { Bench } from './harness';
import { arm, interleaved, summary, type Summary } from './stats';

export interface RunShape {
  rounds: number;
  concurrency: number;
  warmup: number;
  runs: number;
}

const agentFor = (n: number) => (n === 1 ? 'docs-researcher' : `bench-steps-${n}`);

/** Runs one workflow to its end and returns how long it took; remembers the last id of each arm. */
function runner(b: Bench, client: Client, last: Map<string, string>) {
  return (key: string, workflow: 'rawRun' | 'agentRun', agent: string) => async () => {
    const workflowId = b.id(key);
    last.set(key, workflowId);
    const t0 = performance.now();
    try {
      await client.workflow.execute(workflow, { taskQueue: b.taskQueue, workflowId, args: [b.input(agent)] });
    } catch (err) {
      const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : String(err);
      throw new Error(`${key} run ${workflowId} failed: ${cause}`, { cause: err });
    }
    return performance.now() - t0;
  };
}

export interface E2eResult {
  steps: Record<number, { raw: Summary; platform: Summary }>;
  budgeted: Summary;
  histories: Record<string, HistoryStats>;
}

/** agentRun against rawRun at each step count, plus the budgeted run, in interleaved rounds. */
export async function endToEnd(b: Bench, steps: number[], o: RunShape): Promise<E2eResult> {
  const last = new Map<string, string>();
  const once = runner(b, b.client, last);
  const arms = steps.flatMap((n) => {
    // Longer runs take longer: fewer of them, so each step count costs about the same time.
    const runs = Math.max(o.rounds * 2, Math.round(o.runs / Math.sqrt(n)));
    return [
      arm(`raw-${n}`, runs, once(`raw-${n}`, 'rawRun', agentFor(n))),
      arm(`platform-${n}`, runs, once(`platform-${n}`, 'agentRun', agentFor(n))),
    ];
  });
  const budgeted = arm('budgeted-1', o.runs, once('budgeted-1', 'agentRun', 'docs-researcher-priced'));
  arms.splice(2, 0, budgeted);
  await interleaved(arms, o);
  const byName = new Map(arms.map((a) => [a.name, summary(a)]));
  const histories: Record<string, HistoryStats> = {};
  for (const [key, id] of last) histories[key] = historyStats(await b.client.workflow.getHandle(id).fetchHistory());
  return {
    steps: Object.fromEntries(steps.map((n) => [n, { raw: byName.get(`raw-${n}`)!, platform: byName.get(`platform-${n}`)! }])),
    budgeted: byName.get('budgeted-1')!,
    histories,
  };
}

/**
 * The example run with tracing on (spans batched to an exporter that drops them), against rawRun in the
 * same traced process. Installs tracing for the rest of the process: run it last.
 */
export async function traced(b: Bench, o: RunShape): Promise<{ raw: Summary; platform: Summary }> {
  const tracing = installTracing({
    serviceName: 'acp-bench',
    batch: true,
    exporter: { export: (_spans, done) => done({ code: 0 }), shutdown: () => Promise.resolve() },
  });
  try {
    const once = runner(b, b.traced, new Map());
    const raw = arm('raw-traced', o.runs, once('raw-traced', 'rawRun', 'docs-researcher'));
    const platform = arm('platform-traced', o.runs, once('platform-traced', 'agentRun', 'docs-researcher'));
    await interleaved([raw, platform], o);
    return { raw: summary(raw), platform: summary(platform) };
  } finally {
    await tracing.shutdown();
  }
}
