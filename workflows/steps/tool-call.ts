// ToolCall: runs the tool the model asked for, once the agent may use it, the policy allows it and any
// approval it needs has been given for exactly these arguments.
import type { ApprovalRule, ToolSpec } from '../../contracts/agent';
import { ErrorCode } from '../../contracts/errors';
import type { PolicyDecision } from '../../contracts/policy';
import type { Step, ToolCallResult } from '../../contracts/run';
import { DEFAULT_APPROVER_ROLES } from '../../contracts/vocabulary';
import { argsHash } from '../../shared/canonical';
import { toolOptions } from '../activity-options';
import { summarize } from '../describe';
import type { ToolRequest } from '../events';
import { checkPolicy, dataLabelOf } from '../policy-checks';
import type { RunContext } from '../run-context';
import { reasonOf, type EventFrom, type EventInto } from '../state-machine';

/** Checks the requested call, asks for an approval where one is needed, else calls the tool. */
export async function toolCall(ctx: RunContext, event: EventInto<'ToolCall'>): Promise<EventFrom<'ToolCall'>> {
  const { def, input } = ctx;
  const req = event.request;
  // Only a call that waited for its approval comes with the hash of the arguments the approvers saw.
  const approvedHash = event.type === 'approved' ? event.approvedHash : undefined;
  const step = ctx.enter('ToolCall', reasonOf(event), `${req.tool} ${summarize(req.args)}`);
  const spec = input.agent.tools[req.tool];
  if (!def.tools.includes(req.tool) || !spec) {
    const error = {
      type: ErrorCode.ToolNotAllowed,
      message: `tool "${req.tool}" is not in ${def.name}@${def.version}'s tools (${def.tools.join(', ') || 'none'})`,
    };
    ctx.services.observer.toolDenied(step, req.tool, error);
    ctx.finish(step, 'denied', error);
    return { type: 'tool_denied', error };
  }
  const decision = toolDecision(ctx, req, spec);
  if (decision) step.policy = { effect: decision.effect, rule: decision.rule, reason: decision.reason };
  // A call that waited for its approval is checked again when it runs; the ledger already has that decision.
  const coveredByApproval = decision?.effect === 'require_approval' && approvedHash === argsHash(req.tool, req.args);
  if (decision && decision.effect !== 'allow' && !coveredByApproval) {
    ctx.services.governance.audit(step.index, {
      action: 'policy.tool_call',
      outcome: decision.effect,
      reason: decision.reason,
      rule: decision.rule,
      details: { tool: req.tool, side_effect: spec.side_effect, args_hash: argsHash(req.tool, req.args) },
    });
  }
  if (decision?.effect === 'deny') {
    const error = { type: ErrorCode.PolicyDenied, message: `policy denied ${req.tool}: ${decision.reason}` };
    ctx.services.log.warn('policy denied a tool call', { ...ctx.labels, tool: req.tool, rule: decision.rule });
    ctx.services.observer.toolDenied(step, req.tool, error, decision);
    ctx.finish(step, 'denied by policy', error);
    return { type: 'tool_denied', error };
  }
  const hash = argsHash(req.tool, req.args);
  const byAgent = def.approvals.find((r) => r.tool === req.tool);
  const rule = byAgent ?? policyRule(req.tool, decision);
  if (rule && approvedHash !== hash) {
    const ask = { rule, step: step.index, required_by: byAgent ? ('agent' as const) : ('policy' as const) };
    ctx.display.approval = { kind: 'tool_call', approvers: rule.approvers, ...ask };
    ctx.finish(step, `needs approval: ${rule.reason}`);
    return { type: 'approval_required', request: req, ask };
  }
  // The await stays here, not in a helper: an extra microtask turn could reorder the task's commands.
  try {
    const result = await ctx.inStep(() =>
      ctx.services.activities(toolOptions(spec)).callTool({
        run_id: ctx.runId,
        step: step.index,
        agent: ctx.ledger.state.agent,
        tool: req.tool,
        args: req.args,
        ...(decision ? { policy: { effect: decision.effect, rule: decision.rule } } : {}),
      }),
    );
    recordCall(ctx, step, req, spec, result, approvedHash);
    ctx.finish(step, summarize(result.output));
    return { type: 'tool_succeeded' };
  } catch (err) {
    if (ctx.interrupted(err)) {
      // We wait for the tool to acknowledge the cancellation. A backend that cannot be cancelled (an MCP
      // server that ignores it) may still have made the effect: such tools are idempotent per step.
      return ctx.stopped(step);
    }
    return { type: 'tool_failed', failure: ctx.failed(step, err, 'tool') };
  }
}

/** The policy's decision on the call, given the tool's declared effects and the arguments' data label. */
function toolDecision(ctx: RunContext, req: ToolRequest, spec: ToolSpec): PolicyDecision | undefined {
  const { def, input } = ctx;
  return checkPolicy(
    input,
    ctx.ledger.usage,
    'tool_call',
    {
      agent: def.name,
      tool: req.tool,
      side_effect: spec.side_effect,
      ...(spec.destructive ? { destructive: true } : {}),
      ...(spec.max_classification ? { max_classification: spec.max_classification } : {}),
    },
    dataLabelOf(input, req.args),
  );
}

/** The approval a policy's require_approval asks for, with the defaults a policy rule implies. */
function policyRule(tool: string, decision: PolicyDecision | undefined): ApprovalRule | undefined {
  return decision?.effect === 'require_approval'
    ? {
        tool,
        reason: decision.reason,
        approvers: decision.approvers ?? { roles: [...DEFAULT_APPROVER_ROLES], subjects: [] },
        quorum: 1,
        timeout_seconds: 3600,
        on_timeout: 'reject',
      }
    : undefined;
}

/** Records what a tool call did: an observation for the model, an action taken, and an audit row for a write. */
function recordCall(
  ctx: RunContext,
  step: Step,
  req: ToolRequest,
  spec: ToolSpec,
  result: ToolCallResult,
  approvedHash: string | undefined,
): void {
  const { output } = result;
  ctx.ledger.observations.push({ step: step.index, tool: req.tool, args: req.args, output, evidence: result.evidence });
  ctx.ledger.actions.push({ step: step.index, tool: req.tool, side_effect: spec.side_effect, args: req.args });
  if (spec.side_effect === 'write') {
    ctx.services.governance.audit(step.index, {
      action: 'tool.write',
      outcome: 'done',
      reason: req.reason,
      details: {
        tool: req.tool,
        args_hash: argsHash(req.tool, req.args),
        ...(approvedHash ? { approved_args_hash: approvedHash } : {}),
        output: summarize(output),
      },
    });
  }
  ctx.ledger.state.output.evidence = ctx.ledger.observations.flatMap((o) => o.evidence);
}
