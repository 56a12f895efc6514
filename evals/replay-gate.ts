import { parseArgs } from 'node:util';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { replaySinks, WORKFLOW_INTERCEPTOR_MODULES } from '../worker/observability';
import type { CommandIO } from './cli';
import { connectTemporal, parsedOrUsage, TEMPORAL_OPTIONS } from './command-args';

/** One history replayed against the current workflow code. */
export interface ReplayOutcome {
  workflowId: string;
  runId: string | undefined;
  ok: boolean;
  /** The first history event the code diverged at, when the message names it. */
  event?: { id: number; type: string };
  error?: string;
}

type History = temporal.api.history.v1.IHistory;

const EventType = temporal.api.enums.v1.EventType;
const typeName = (t: unknown) => (typeof t === 'number' ? (EventType[t] ?? String(t)).replace(/^EVENT_TYPE_/, '') : String(t));

/** The history up to and including the events the workflow task completed at `wftIndex` (an event index) recorded. */
function prefixAfter(history: History, wftIndex: number): History {
  const events = history.events ?? [];
  let end = wftIndex + 1;
  while (end < events.length && typeName(events[end]!.eventType) !== 'WORKFLOW_TASK_SCHEDULED') end++;
  return { ...history, events: events.slice(0, end) };
}

/**
 * The first event the code diverges at. Temporal's error names the mismatch but not the event, so the
 * history is replayed cut after each completed workflow task: the first cut that fails holds the task
 * whose recorded commands the code no longer issues, and its first command event is where they part.
 */
async function firstDivergingEvent(bundle: WorkflowBundleOption, workflowId: string, history: History): Promise<ReplayOutcome['event']> {
  const events = history.events ?? [];
  const cuts = events.flatMap((e, i) => (typeName(e.eventType) === 'WORKFLOW_TASK_COMPLETED' ? [i] : []));
  const prefixes = cuts.map((i) => ({ workflowId: `${workflowId}#${i}`, history: prefixAfter(history, i) }));
  let first: number | undefined;
  for await (const r of Worker.runReplayHistories({ workflowBundle: bundle, sinks: replaySinks() }, prefixes)) {
    const i = Number(r.workflowId.split('#').at(-1));
    if (r.error && (first === undefined || i < first)) first = i;
  }
  if (first === undefined) return undefined;
  const at = events[first + 1] ?? events[first]!;
  return { id: Number(at.eventId), type: typeName(at.eventType) };
}

/**
 * Fetches histories (by run id, or every run a visibility query finds) and replays each against the
 * workflow code: the given bundle, the module at `workflowsPath`, or the current workflows/.
 */
export async function replayHistories(
  client: Client,
  select: { runIds?: string[]; query?: string },
  code: { workflowBundle?: WorkflowBundleOption; workflowsPath?: string } = {},
): Promise<ReplayOutcome[]> {
  const histories: { workflowId: string; history: History }[] = [];
  for (const id of select.runIds ?? []) histories.push({ workflowId: id, history: await client.workflow.getHandle(id).fetchHistory() });
  if (select.query)
    for await (const h of client.workflow.list({ query: select.query }).intoHistories())
      histories.push({ workflowId: h.workflowId, history: h.history as History });
  const byId = new Map(histories.map((h) => [h.workflowId, h.history]));
  // Bundled as the worker bundles it: the workflow interceptors change how an update's handler is
  // scheduled, so a run that had an approval diverges without them (at its update, "TimerCanceled").
  const bundle =
    code.workflowBundle ??
    (await bundleWorkflowCode({
      workflowsPath: code.workflowsPath ?? require.resolve('../workflows'),
      workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES,
      logger: QUIET,
    }));
  const out: ReplayOutcome[] = [];
  for await (const r of Worker.runReplayHistories({ workflowBundle: bundle, sinks: replaySinks() }, histories)) {
    if (!r.error) {
      out.push({ workflowId: r.workflowId, runId: r.runId, ok: true });
      continue;
    }
    const message = r.error instanceof Error ? r.error.message : String(r.error);
    const event = await firstDivergingEvent(bundle, r.workflowId, byId.get(r.workflowId)!);
    out.push({ workflowId: r.workflowId, runId: r.runId, ok: false, ...(event ? { event } : {}), error: message });
  }
  return out;
}

const QUIET = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

export const REPLAY_USAGE = `usage: npm run replay -- (--run <workflow id>… | --query '<visibility query>') [--address host:port] [--namespace ns] [--workflows <module>]`;

/** `npm run replay`: the replay gate before a deploy; exit 1 on any non-determinism, 2 on bad usage. */
export async function replayCommand(argv: string[], io: CommandIO, code: { workflowBundle?: WorkflowBundleOption } = {}): Promise<number> {
  const v = parsedOrUsage(
    io,
    REPLAY_USAGE,
    () =>
      parseArgs({
        args: argv,
        options: {
          run: { type: 'string', multiple: true, default: [] },
          query: { type: 'string' },
          ...TEMPORAL_OPTIONS,
          workflows: { type: 'string' },
        },
      }).values,
  );
  if (!v) return 2;
  if (v.run.length === 0 && !v.query) {
    io.err(`name runs with --run or a visibility query with --query\n${REPLAY_USAGE}\n`);
    return 2;
  }
  const { connection, client } = await connectTemporal(v);
  try {
    const results = await replayHistories(
      client,
      { runIds: v.run, ...(v.query ? { query: v.query } : {}) },
      { ...code, ...(v.workflows ? { workflowsPath: require.resolve(v.workflows, { paths: [process.cwd()] }) } : {}) },
    );
    for (const r of results) {
      if (r.ok) io.out(`ok    ${r.workflowId} (${r.runId ?? '?'})\n`);
      else
        io.out(
          `FAIL  ${r.workflowId} (${r.runId ?? '?'}): non-deterministic${r.event ? ` at event ${r.event.id} (${r.event.type})` : ''}\n      ${r.error}\n`,
        );
    }
    const bad = results.filter((r) => !r.ok).length;
    io.out(`${results.length} replayed, ${bad} non-deterministic\n`);
    if (results.length === 0) io.err('no histories matched: nothing was checked\n');
    return bad > 0 || results.length === 0 ? 1 : 0;
  } finally {
    await connection.close();
  }
}
