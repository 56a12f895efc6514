// The events a run publishes as its steps enter and end (docs/events.md). Ids are derived from the run's
// own state, never from a counter that would have to travel in history: each step owns a block of
// STEP_BLOCK seqs from its index (steps are carried across continue-as-new, so indices keep rising), and
// each kind of event has a fixed place in its step's block. A workflow task retried on another worker
// therefore publishes exactly the same ids, and the store keeps the first (ON CONFLICT DO NOTHING).
// Pure: no workflow API; ./observe hands the events to the sink.
import type { NewRunEvent, RunEventType } from '../contracts/events';
import type { Step } from '../contracts/run';
import type { ObservedRun } from './views';

/** Seqs per step: step n's events are n * STEP_BLOCK + offset. */
export const STEP_BLOCK = 1_000_000;

/** Where each event sits in its step's block; model.delta takes DELTA_FIRST.. DELTA_LAST (the plan activity's). */
export const SEQ_OFFSET = {
  entered: 0,
  toolStarted: 1,
  approvalRequested: 2,
  deltaFirst: 10,
  deltaLast: 999_899,
  toolEnded: 999_990,
  approvalDecided: 999_991,
  usage: 999_992,
  ended: 999_998,
  terminal: 999_999,
} as const;

/** The per-run id of an event of a step. */
export const seqOf = (step: number, offset: number): number => step * STEP_BLOCK + offset;

function make(ctx: ObservedRun, seq: number, type: RunEventType, at: string, data: Record<string, unknown>): NewRunEvent {
  return { run_id: ctx.labels.run_id, seq, tenant: ctx.tenant, agent: ctx.labels.agent, type, at, data };
}

/** A step entered: step.entered, plus run.started for a run's first step, tool.started, approval.requested. */
export function enteredEvents(ctx: ObservedRun, step: Step): NewRunEvent[] {
  const at = step.started_at;
  const out: NewRunEvent[] = [];
  if (step.index === 1) {
    out.push(make(ctx, 0, 'run.started', at, { agent: ctx.labels.agent, agent_version: ctx.labels.agent_version }));
  }
  out.push(make(ctx, seqOf(step.index, SEQ_OFFSET.entered), 'step.entered', at, { step: { ...step } }));
  if (step.type === 'ToolCall' && ctx.display.tool) {
    out.push(make(ctx, seqOf(step.index, SEQ_OFFSET.toolStarted), 'tool.started', at, { step: step.index, tool: ctx.display.tool }));
  }
  if (step.type === 'HumanApproval' && ctx.display.approval) {
    const asked = ctx.display.approval;
    out.push(
      make(ctx, seqOf(step.index, SEQ_OFFSET.approvalRequested), 'approval.requested', at, {
        step: step.index,
        kind: asked.kind,
        approvers: asked.approvers ?? null,
        ...(asked.kind === 'tool_call' ? { tool: ctx.display.tool ?? null, tool_step: asked.step } : {}),
      }),
    );
  }
  return out;
}

/** The terminal event type of a Complete or Fail step. */
function terminalType(ctx: ObservedRun, step: Step): RunEventType | undefined {
  const interrupt = ctx.interrupt?.type;
  if (step.type === 'Complete') return interrupt === 'taken_over' ? 'run.taken_over' : 'run.completed';
  if (step.type === 'Fail') return interrupt === 'cancelled' ? 'run.cancelled' : 'run.failed';
  return undefined;
}

/** A step ended: tool.ended, approval.decided, usage after a Plan, step.ended, and a terminal event last. */
export function endedEvents(ctx: ObservedRun, step: Step): NewRunEvent[] {
  const at = step.ended_at ?? step.started_at;
  const out: NewRunEvent[] = [];
  const ev = (offset: number, type: RunEventType, data: Record<string, unknown>) =>
    out.push(make(ctx, seqOf(step.index, offset), type, at, data));
  if (step.type === 'ToolCall' && ctx.display.tool) {
    ev(SEQ_OFFSET.toolEnded, 'tool.ended', {
      step: step.index,
      tool: ctx.display.tool,
      ok: !step.error,
      ...(step.error ? { error: step.error } : {}),
    });
  }
  if (step.type === 'HumanApproval') {
    const approval = ctx.state.approvals.find((a) => a.step === step.index);
    if (approval)
      ev(SEQ_OFFSET.approvalDecided, 'approval.decided', {
        step: step.index,
        id: approval.id,
        status: approval.status,
        decisions: approval.decisions,
      });
  }
  if (step.type === 'Plan') {
    ev(SEQ_OFFSET.usage, 'usage', {
      ...ctx.usage,
      steps: ctx.state.steps.length,
      steps_left: Math.max(0, ctx.maxSteps - ctx.state.steps.length),
    });
  }
  ev(SEQ_OFFSET.ended, 'step.ended', { step: { ...step } });
  const terminal = terminalType(ctx, step);
  if (terminal)
    ev(SEQ_OFFSET.terminal, terminal, { status: terminal.slice('run.'.length), steps: ctx.state.steps.length, usage: { ...ctx.usage } });
  return out;
}
