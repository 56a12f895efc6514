// ToolCall: runs the tool the model asked for, once the agent may use it, the policy allows it and any
// approval it needs has been given for exactly these arguments.
import { log, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { ApprovalRule, ToolSpec } from '../../contracts/agent';
import { ErrorCode } from '../../contracts/errors';
import type { PolicyDecision } from '../../contracts/policy';
import type { Step, ToolCallResult } from '../../contracts/run';
import { argsHash } from '../../shared/canonical';
import { toolOptions } from '../activity-options';
import { summarize } from '../describe';
import { toolDenied } from '../observe';
import { checkPolicy, dataLabelOf } from '../policy-checks';
import type { RunContext, ToolRequest } from '../run-context';
import type { RunEvent } from '../state-machine';

/** Checks the requested call, asks for an approval where one is needed, else calls the tool. */
export async function toolCall(ctx: RunContext, reason: string): Promise<RunEvent> {
  const { def, input } = ctx;
  const req = ctx.toolRequest!;
  const step = ctx.enter('ToolCall', reason, `${req.tool} ${summarize(req.args)}`);
  const spec = input.agent.tools[req.tool];
  if (!def.tools.includes(req.tool) || !spec) {
    ctx.endError = {
      type: ErrorCode.ToolNotAllowed,
      message: `tool "${req.tool}" is not in ${def.name}@${def.version}'s tools (${def.tools.join(', ') || 'none'})`,
    };
    toolDenied(step, req.tool, ctx.endError);
    ctx.finish(step, 'denied', ctx.endError);
    return 'tool_denied';
  }
  const decision = checkPolicy(
    input,
    ctx.usage,
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
  if (decision) step.policy = { effect: decision.effect, rule: decision.rule, reason: decision.reason };
  // A call that waited for its approval is checked again when it runs; the ledger already has that decision.
  const coveredByApproval = decision?.effect === 'require_approval' && ctx.approvedHash === argsHash(req.tool, req.args);
  if (decision && decision.effect !== 'allow' && !coveredByApproval) {
    ctx.governance.audit(step.index, {
      action: 'policy.tool_call',
      outcome: decision.effect,
      reason: decision.reason,
      rule: decision.rule,
      details: { tool: req.tool, side_effect: spec.side_effect, args_hash: argsHash(req.tool, req.args) },
    });
  }
  if (decision?.effect === 'deny') {
    ctx.endError = { type: ErrorCode.PolicyDenied, message: `policy denied ${req.tool}: ${decision.reason}` };
    log.warn('policy denied a tool call', { ...ctx.labels, tool: req.tool, rule: decision.rule });
    toolDenied(step, req.tool, ctx.endError, decision);
    ctx.finish(step, 'denied by policy', ctx.endError);
    return 'tool_denied';
  }
  const hash = argsHash(req.tool, req.args);
  const byAgent = def.approvals.find((r) => r.tool === req.tool);
  const rule = byAgent ?? policyRule(req.tool, decision);
  if (rule && ctx.approvedHash !== hash) {
    ctx.approvalFor = { kind: 'tool_call', rule, step: step.index, required_by: byAgent ? 'agent' : 'policy' };
    ctx.finish(step, `needs approval: ${rule.reason}`);
    return 'approval_required';
  }
  try {
    const result = await ctx.inStep(() =>
      proxyActivities<Activities>(toolOptions(spec)).callTool({
        run_id: ctx.runId,
        step: step.index,
        agent: ctx.state.agent,
        tool: req.tool,
        args: req.args,
        ...(decision ? { policy: { effect: decision.effect, rule: decision.rule } } : {}),
      }),
    );
    recordCall(ctx, step, req, spec, result);
    ctx.finish(step, summarize(result.output));
    return 'tool_succeeded';
  } catch (err) {
    if (ctx.interrupted(err)) {
      // We wait for the tool to acknowledge the cancellation. A backend that cannot be cancelled (an MCP
      // server that ignores it) may still have made the effect: such tools are idempotent per step.
      return ctx.stopped(step);
    }
    ctx.failed(step, err, 'tool');
    return 'tool_failed';
  }
}

/** The approval a policy's require_approval asks for, with the defaults a policy rule implies. */
function policyRule(tool: string, decision: PolicyDecision | undefined): ApprovalRule | undefined {
  return decision?.effect === 'require_approval'
    ? {
        tool,
        reason: decision.reason,
        approvers: decision.approvers ?? { roles: ['approver'], subjects: [] },
        quorum: 1,
        timeout_seconds: 3600,
        on_timeout: 'reject',
      }
    : undefined;
}

/** Records what a tool call did: an observation for the model, an action taken, and an audit row for a write. */
function recordCall(ctx: RunContext, step: Step, req: ToolRequest, spec: ToolSpec, result: ToolCallResult): void {
  const { output } = result;
  ctx.observations.push({ step: step.index, tool: req.tool, args: req.args, output, evidence: result.evidence });
  ctx.actions.push({ step: step.index, tool: req.tool, side_effect: spec.side_effect, args: req.args });
  if (spec.side_effect === 'write') {
    ctx.governance.audit(step.index, {
      action: 'tool.write',
      outcome: 'done',
      reason: req.reason,
      details: {
        tool: req.tool,
        args_hash: argsHash(req.tool, req.args),
        ...(ctx.approvedHash ? { approved_args_hash: ctx.approvedHash } : {}),
        output: summarize(output),
      },
    });
  }
  ctx.state.output.evidence = ctx.observations.flatMap((o) => o.evidence);
}
