// What a run shows while it moves: one log line per state transition, the Temporal Web UI's current
// details (a short Markdown of where it stands), and step observations for the worker's metrics. None of
// it emits a workflow command: the details are read through the SDK's metadata query, logs and sinks are
// not called during replay (docs/observability.md).
import { trace } from '@opentelemetry/api';
import { log, proxySinks, setCurrentDetails } from '@temporalio/workflow';
import type { RunObserverSinks, StepObservation } from '../contracts/observability';
import type { Step } from '../contracts/run';
import type { RunContext } from './run-context';

const { runObserver } = proxySinks<RunObserverSinks>();

const usd = (n: number) => `$${n.toFixed(n < 0.01 && n > 0 ? 6 : 4)}`;

/** The Markdown the Web UI shows in the run's summary panel. */
export function currentDetails(ctx: RunContext, status: string = ctx.state.status): string {
  const { state, usage, labels } = ctx;
  const last = state.steps[state.steps.length - 1];
  const lines = [
    `**${labels.agent}@${labels.agent_version}** · ${status} · tenant \`${ctx.input.initiator.tenant}\``,
    '',
    `- **State:** ${state.current} (step ${state.steps.length} of at most ${ctx.limits.max_steps})`,
    `- **Usage:** ${usage.input_tokens} input / ${usage.output_tokens} output tokens · ${usd(usage.cost_usd)}`,
  ];
  if (last?.type === 'HumanApproval' && last.ended_at === undefined && ctx.approvalFor) {
    const set = ctx.approvalFor.kind === 'tool_call' ? ctx.approvalFor.rule.approvers : ctx.def.fallback?.escalate_to;
    const who = set ? [...set.roles.map((r) => `role \`${r}\``), ...set.subjects.map((s) => `\`${s}\``)].join(', ') : 'an operator';
    const what = ctx.approvalFor.kind === 'tool_call' ? `tool call \`${ctx.toolRequest?.tool ?? '?'}\`` : 'escalation';
    lines.push(`- **Pending approval:** ${what} · may decide: ${who}`);
  }
  if (last?.error) lines.push(`- **Last error:** ${last.error.type}`);
  if (last?.policy) lines.push(`- **Policy:** ${last.policy.effect} (rule \`${last.policy.rule}\`)`);
  return lines.join('\n');
}

function observation(ctx: RunContext, step: Step): StepObservation {
  return {
    agent: ctx.labels.agent,
    agent_version: ctx.labels.agent_version,
    tenant: ctx.input.initiator.tenant,
    step_type: step.type,
    started_at: step.started_at,
  };
}

/** A run entered a step: log the transition, show it in the Web UI, count it. */
export function stepEntered(ctx: RunContext, step: Step): void {
  log.info('step started', { ...ctx.labels, step: step.index, step_type: step.type, reason: step.reason });
  setCurrentDetails(currentDetails(ctx));
  runObserver.stepStarted(observation(ctx, step));
}

/** A step ended: its duration, policy decision, approval outcome and, for Complete and Fail, the run's outcome. */
export function stepEnded(ctx: RunContext, step: Step): void {
  const o = observation(ctx, step);
  if (step.ended_at) {
    o.ended_at = step.ended_at;
    o.duration_ms = Math.max(0, Date.parse(step.ended_at) - Date.parse(step.started_at));
  }
  if (step.policy) o.policy = { effect: step.policy.effect, rule: step.policy.rule };
  if (step.type === 'HumanApproval') {
    const approval = ctx.state.approvals.find((a) => a.step === step.index);
    if (approval) {
      const set = approval.approvers;
      o.approval = {
        status: approval.status,
        approvers: [...set.roles.map((r) => `role:${r}`), ...set.subjects.map((s) => `subject:${s}`)],
        decided_by: approval.decisions.map((d) => d.approver),
      };
    }
  }
  const event = ctx.interrupt?.event;
  if (step.type === 'Complete') o.run_outcome = event === 'taken_over' ? 'taken_over' : 'completed';
  if (step.type === 'Fail') o.run_outcome = event === 'cancelled' ? 'cancelled' : 'failed';
  const span = trace.getActiveSpan()?.spanContext();
  if (span) o.span = { trace_id: span.traceId, span_id: span.spanId };
  setCurrentDetails(currentDetails(ctx, o.run_outcome ?? ctx.state.status));
  runObserver.stepEnded(o);
}
