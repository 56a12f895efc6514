// What a run shows while it moves: one log line per state transition, the Temporal Web UI's current
// details (a short Markdown of where it stands), and step observations for the worker's metrics. None of
// it emits a workflow command: the details are read through the SDK's metadata query, logs and sinks are
// not called during replay (docs/observability.md).
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { log, proxySinks, setCurrentDetails } from '@temporalio/workflow';
import type { RunEventSinks } from '../contracts/events';
import type { RunObserverSinks, StepObservation } from '../contracts/observability';
import type { PolicyDecision } from '../contracts/policy';
import type { Approval, Step } from '../contracts/run';
import { endedEvents, enteredEvents } from './run-events';
import type { ObservedRun } from './views';

const { runObserver, runEvents } = proxySinks<RunObserverSinks & RunEventSinks>();

const usd = (n: number) => `$${n.toFixed(n < 0.01 && n > 0 ? 6 : 4)}`;

/** The Markdown the Web UI shows in the run's summary panel. */
export function currentDetails(ctx: ObservedRun, status: string = ctx.state.status): string {
  const { state, usage, labels } = ctx;
  const last = state.steps[state.steps.length - 1];
  const lines = [
    `**${labels.agent}@${labels.agent_version}** · ${status} · tenant \`${ctx.tenant}\``,
    '',
    `- **State:** ${state.current} (step ${state.steps.length} of at most ${ctx.maxSteps})`,
    `- **Usage:** ${usage.input_tokens} input / ${usage.output_tokens} output tokens · ${usd(usage.cost_usd)}`,
  ];
  const asked = ctx.display.approval;
  if (last?.type === 'HumanApproval' && last.ended_at === undefined && asked) {
    const set = asked.approvers;
    const who = set ? [...set.roles.map((r) => `role \`${r}\``), ...set.subjects.map((s) => `\`${s}\``)].join(', ') : 'an operator';
    const what = asked.kind === 'tool_call' ? `tool call \`${ctx.display.tool ?? '?'}\`` : 'escalation';
    lines.push(`- **Pending approval:** ${what} · may decide: ${who}`);
  }
  const failure = failedStep(ctx);
  if (failure?.error) {
    lines.push(`- **Error:** ${failure.error.type}: ${clip(failure.error.message)}`);
    const tool = failure.type === 'ToolCall' ? ctx.display.tool : undefined;
    const where = [`step ${failure.index} ${failure.type}`, ...(tool ? [`tool \`${tool}\``] : [])];
    if (failure.policy) where.push(`rule \`${failure.policy.rule}\` (${failure.policy.effect})`);
    lines.push(`- **Failed at:** ${where.join(' · ')}`);
  }
  if (last?.policy && last !== failure) lines.push(`- **Policy:** ${last.policy.effect} (rule \`${last.policy.rule}\`)`);
  const decided = state.approvals.filter((a) => a.decisions.length > 0).slice(-3);
  for (const a of decided) lines.push(`- **Approval ${a.id}:** ${a.status} · ${deciders(a)}`);
  return lines.join('\n');
}

const clip = (text: string, max = 300) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** Who decided an approval and how, as the details show it. */
const deciders = (a: Approval) =>
  a.decisions.map((d) => `\`${d.approver}\` ${d.decision === 'approve' ? 'approved' : 'rejected'}`).join(', ');

/**
 * The step whose error the run ends with: for a Fail step, the last earlier step that failed (the
 * denied or failing call, which names the tool and the rule), else the Fail step itself; otherwise the
 * last step if it failed.
 */
function failedStep(ctx: ObservedRun): Step | undefined {
  const { steps } = ctx.state;
  const last = steps[steps.length - 1];
  if (last?.type !== 'Fail') return last?.error ? last : undefined;
  for (let i = steps.length - 2; i >= 0; i--) {
    const s = steps[i]!;
    if (s.type === 'Fail') break;
    if (s.error && s.error.type === last.error?.type) return s;
  }
  return last;
}

/** The decision a step counts in acp_policy_decisions_total (see StepObservation.policy). */
function countedDecision(ctx: ObservedRun, step: Step): StepObservation['policy'] {
  const action = step.type === 'Plan' ? 'model_call' : step.type === 'ToolCall' ? 'tool_call' : undefined;
  if (!action) return undefined;
  const shown = ctx.display.approval;
  const asked = shown?.kind === 'tool_call' && shown.step === step.index ? shown : undefined;
  // An approval the agent definition demands is a require_approval, whatever the policy allowed.
  if (asked?.required_by === 'agent' && step.policy?.effect !== 'require_approval') {
    return { action, effect: 'require_approval', rule: 'agent.approvals' };
  }
  return step.policy ? { action, effect: step.policy.effect, rule: step.policy.rule } : undefined;
}

/**
 * A tool call that was refused before it ran (policy deny, or not one of the agent's tools) is still an
 * `execute_tool` span, with the error and the decision. Span calls emit no workflow command.
 */
export function toolDenied(step: Step, tool: string, error: { type: string; message: string }, decision?: PolicyDecision): void {
  const span = trace.getTracer('agent-control-plane').startSpan(`execute_tool ${tool}`, {
    attributes: {
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': tool,
      'acp.step': step.index,
      'acp.policy.effect': decision?.effect ?? 'none',
      'acp.policy.rule': decision?.rule ?? 'none',
      ...(decision ? { 'acp.policy.reason': decision.reason } : {}),
      'error.type': error.type,
    },
  });
  span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
  span.end();
}

/** The run ends failed or cancelled: its workflow span (the run's root in the worker) says so, with error.type. */
export function runFailed(error: { type: string; message: string }): void {
  const span = trace.getActiveSpan();
  span?.setAttribute('error.type', error.type);
  span?.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
}

function observation(ctx: ObservedRun, step: Step): StepObservation {
  return {
    agent: ctx.labels.agent,
    agent_version: ctx.labels.agent_version,
    tenant: ctx.tenant,
    step_type: step.type,
    started_at: step.started_at,
  };
}

/** A run entered a step: log the transition, show it in the Web UI, count it. */
export function stepEntered(ctx: ObservedRun, step: Step): void {
  log.info('step started', { ...ctx.labels, step: step.index, step_type: step.type, reason: step.reason });
  setCurrentDetails(currentDetails(ctx));
  runObserver.stepStarted(observation(ctx, step));
  runEvents.publish(enteredEvents(ctx, step));
}

/** A step ended: its duration, policy decision, approval outcome and, for Complete and Fail, the run's outcome. */
export function stepEnded(ctx: ObservedRun, step: Step): void {
  const o = observation(ctx, step);
  if (step.ended_at) {
    o.ended_at = step.ended_at;
    o.duration_ms = Math.max(0, Date.parse(step.ended_at) - Date.parse(step.started_at));
  }
  const counted = countedDecision(ctx, step);
  if (counted) o.policy = counted;
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
  const event = ctx.interrupt?.type;
  if (step.type === 'Complete') o.run_outcome = event === 'taken_over' ? 'taken_over' : 'completed';
  if (step.type === 'Fail') o.run_outcome = event === 'cancelled' ? 'cancelled' : 'failed';
  const span = trace.getActiveSpan()?.spanContext();
  if (span) o.span = { trace_id: span.traceId, span_id: span.spanId };
  setCurrentDetails(currentDetails(ctx, o.run_outcome ?? ctx.state.status));
  runObserver.stepEnded(o);
  runEvents.publish(endedEvents(ctx, step));
}
