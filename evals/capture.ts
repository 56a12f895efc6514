import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { stringify } from 'yaml';
import type { AgentRunInput, AgentRunOutput, PlanRequest, PlanResult } from '../contracts/run';
import type { CommandIO } from './cli';
import { connectTemporal, parsedOrUsage, TEMPORAL_OPTIONS } from './command-args';
import { writePlanCassette } from './plan-cassettes';
import type { EvalCase } from './suite';

type History = temporal.api.history.v1.IHistory;
type Payloads = temporal.api.common.v1.IPayloads | null | undefined;

const first = (p: Payloads): unknown => {
  const payload = p?.payloads?.[0];
  return payload ? defaultPayloadConverter.fromPayload(payload) : undefined;
};

/** What a finished run's history says: its input, its Plan steps (request and result), its output. */
export interface CapturedRun {
  input: AgentRunInput;
  plans: { request: PlanRequest; result: PlanResult }[];
  output: AgentRunOutput | undefined;
}

/** Reads a run's input, Plan activities and output from its history. */
export function readRunHistory(history: History): CapturedRun {
  let input: AgentRunInput | undefined;
  let output: AgentRunOutput | undefined;
  const scheduled = new Map<string, PlanRequest>();
  const plans: CapturedRun['plans'] = [];
  for (const e of history.events ?? []) {
    if (e.workflowExecutionStartedEventAttributes) input = first(e.workflowExecutionStartedEventAttributes.input) as AgentRunInput;
    const s = e.activityTaskScheduledEventAttributes;
    if (s?.activityType?.name === 'plan') scheduled.set(String(e.eventId), first(s.input) as PlanRequest);
    const c = e.activityTaskCompletedEventAttributes;
    const request = c ? scheduled.get(String(c.scheduledEventId)) : undefined;
    if (c && request) plans.push({ request, result: first(c.result) as PlanResult });
    if (e.workflowExecutionCompletedEventAttributes) output = first(e.workflowExecutionCompletedEventAttributes.result) as AgentRunOutput;
    const failed = e.workflowExecutionFailedEventAttributes?.failure?.applicationFailureInfo?.details;
    if (failed) output = first(failed) as AgentRunOutput;
  }
  if (!input) throw new Error('the history has no WorkflowExecutionStarted event with an input');
  return { input, plans, output };
}

/**
 * An eval case from a captured run: its task, context, constraints and output_spec as the run got
 * them, the approvals as they were decided, and its outcome as expectations for a person to edit.
 */
export function caseFromRun(runId: string, run: CapturedRun, name = `captured ${runId}`): EvalCase {
  const o = run.output;
  const decisions = (o?.approvals ?? []).flatMap((a) =>
    a.decisions.slice(0, 1).map((d) => ({ decision: d.decision, ...(d.edited_args ? { edited_args: d.edited_args } : {}) })),
  );
  const status = o?.status === 'failed' || o?.status === 'cancelled' ? o.status : 'completed';
  return {
    name,
    task: run.input.task,
    context: run.input.context,
    constraints: run.input.constraints,
    ...(run.input.output_spec ? { output_spec: run.input.output_spec } : {}),
    approvals: decisions,
    expect: {
      status,
      ...(o?.error ? { error_type: o.error.type } : {}),
      output_spec: true,
      tools: (o?.actions_taken ?? []).map((a) => a.tool),
      ...(o?.approvals?.length ? { approvals: o.approvals.map((a) => a.tool ?? a.kind) } : {}),
      result: o && o.result !== undefined ? [{ path: '$', equals: o.result }] : [],
      ...(o ? { steps: o.steps.length } : {}),
    },
    limits: {},
    graded: [],
  };
}

/** Writes the case file and the plan cassettes into an agent's suite folder; returns what it wrote. */
export function writeCapture(toDir: string, runId: string, run: CapturedRun, name?: string): { caseFile: string; cassettes: string[] } {
  mkdirSync(toDir, { recursive: true });
  const c = caseFromRun(runId, run, name);
  const agent = `${run.input.agent.definition.name}@${run.input.agent.definition.version}`;
  const caseFile = path.join(toDir, `captured-${runId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 60)}.yaml`);
  const header = `# Captured from run ${runId} of ${agent} (npm run eval:capture).\n# Its Plan steps replay from cassettes/plan/; edit the expectations to what the run should have done.\n`;
  // Empty fields are left out so the file reads like a hand-written case.
  const { limits, graded, ...rest } = c;
  void limits;
  void graded;
  writeFileSync(caseFile, header + stringify({ cases: [rest] }, { lineWidth: 120 }));
  const cassettes = run.plans.map((p) => writePlanCassette(path.join(toDir, 'cassettes', 'plan'), p.request, p.result));
  return { caseFile, cassettes };
}

export const CAPTURE_USAGE =
  'usage: npm run eval:capture -- --run <run id> --to agents/<name>/evals/ [--name <case name>] [--address host:port] [--namespace ns]';

/** `npm run eval:capture`: turns a finished run into an eval case plus the cassettes that replay it. */
export async function captureCommand(argv: string[], io: CommandIO): Promise<number> {
  const v = parsedOrUsage(
    io,
    CAPTURE_USAGE,
    () =>
      parseArgs({
        args: argv,
        options: {
          run: { type: 'string' },
          to: { type: 'string' },
          name: { type: 'string' },
          ...TEMPORAL_OPTIONS,
        },
      }).values,
  );
  if (!v) return 2;
  if (!v.run || !v.to) {
    io.err(`--run and --to are required\n${CAPTURE_USAGE}\n`);
    return 2;
  }
  const { connection, client } = await connectTemporal(v);
  try {
    const handle = client.workflow.getHandle(v.run);
    const { status } = await handle.describe();
    if (status.name === 'RUNNING') {
      io.err(`run ${v.run} is still running: capture it once it has finished\n`);
      return 1;
    }
    const run = readRunHistory(await handle.fetchHistory());
    const written = writeCapture(path.resolve(v.to), v.run, run, v.name);
    io.out(
      `case:      ${written.caseFile}\ncassettes: ${written.cassettes.length} plan step(s) in ${path.join(path.resolve(v.to), 'cassettes', 'plan')}\n`,
    );
    return 0;
  } finally {
    await connection.close();
  }
}
