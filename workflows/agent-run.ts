import {
  ActivityCancellationType,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ApprovalRule, ModelSettings, ToolSpec } from '../contracts/agent';
import { DecisionError, ErrorCode, NON_RETRYABLE } from '../contracts/errors';
import type {
  ActionTaken,
  AgentRunInput,
  AgentRunOutput,
  Approval,
  ApprovalUpdateInput,
  Observation,
  PlanResult,
  RunState,
  Step,
  StepType,
  TakeoverUpdateInput,
  Usage,
} from '../contracts/run';
import { RunSearchAttributes } from '../contracts/search-attributes';
import type { AuditEntry } from '../contracts/governance';
import { argsHash, diffArgs } from '../shared/canonical';
import { estimateCall, nanoUsd, type CallEstimate } from '../shared/cost';
import { checkOutputSpec } from '../shared/output-spec';
import { LABELS, type Label, type PolicyAction, type PolicyDecision, type PolicyResource } from '../contracts/policy';
import { decide as decidePolicy, runBudgetFor, tenantBudgetFor } from '../policies/engine';
import { isTerminal, transition, type RunEvent } from './state-machine';

import { approvalUpdate, OPERATOR_ROLES, stateQuery, takeoverUpdate } from './messages';
import { currentApprovers, decidersOf, escalationHash, mayDecide } from './approvals';

/** Steps recorded in one Temporal run before continuing-as-new, unless the agent sets its own. */
const DEFAULT_STEPS_PER_HISTORY = 200;

function summarize(value: unknown, max = 200): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? 'undefined');
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

function failureOf(err: unknown): { type: string; message: string } {
  let cause: unknown = err;
  while (cause instanceof Error && !(cause instanceof ApplicationFailure) && cause.cause) cause = cause.cause;
  if (cause instanceof ApplicationFailure) return { type: cause.type ?? 'ApplicationFailure', message: cause.message };
  return { type: (cause as Error)?.name ?? 'Error', message: (cause as Error)?.message ?? String(cause) };
}

function decisionError(type: DecisionError, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true });
}

/**
 * One agent run: a loop that interprets the transition table in ./state-machine. Each step handler
 * does its work (activities for anything with effects) and reports an event; the table says which
 * step comes next. Budgets are checked before every step; cancellation, the deadline and a manual
 * takeover interrupt whatever step is running.
 */
export async function agentRun(input: AgentRunInput): Promise<AgentRunOutput> {
  const runId = workflowInfo().workflowId;
  const def = input.agent.definition;
  /** Every log line of the run carries these labels. */
  const labels = { run_id: runId, agent: def.name, agent_version: def.version };
  const carry = input.carry;
  // A caller's constraints and the policy's run and agent budgets can only tighten the agent's own.
  const tighter = (caller: number | undefined, agent: number | undefined) =>
    caller === undefined ? agent : agent === undefined ? caller : Math.min(caller, agent);
  const policyRun = runBudgetFor(input.policy, def.name);
  const limits = {
    max_steps: tighter(input.constraints.max_steps, def.budgets.max_steps)!,
    max_tokens: tighter(tighter(input.constraints.max_tokens, def.budgets.max_tokens), policyRun.max_tokens),
    max_cost_usd: tighter(tighter(input.constraints.max_cost_usd, def.budgets.max_cost_usd), policyRun.max_cost_usd),
    timeout_seconds: tighter(input.constraints.timeout_seconds, def.budgets.timeout_seconds)!,
  };
  const tenantBudget = tenantBudgetFor(input.policy, input.initiator.tenant);
  // Runs started by a worker that wrote no audit rows, or checked no budget before a model call, must
  // replay without them (docs/changing-workflows.md; the v1-* histories are such runs).
  const auditInRun = patched('audit-rows-from-runs');
  const budgetsBeforeCall = patched('budgets-before-call');
  /** This execution of the run: with the run id and the step, the key of its reservations and audit rows. */
  const execution = workflowInfo().runId;
  const usage: Usage = carry?.usage ?? { input_tokens: 0, output_tokens: 0, cost_usd: 0 };
  const observations: Observation[] = carry?.observations ?? [];
  const actions: ActionTaken[] = carry?.actions ?? [];
  const warnings: string[] = carry?.warnings ?? [];
  const state: RunState = {
    status: 'running',
    current: 'Plan',
    agent: { name: def.name, version: def.version },
    steps: carry?.steps ?? [],
    usage,
    approvals: carry?.approvals ?? [],
    output: { result: null, evidence: [], actions_taken: actions, warnings },
  };
  let repairs = carry?.repairs ?? 0;
  let fallbackUsed = carry?.fallback_used ?? false;
  const stepsAtStart = state.steps.length;

  // What the previous step handed to the next one.
  let toolRequest: { tool: string; args: Record<string, unknown>; reason: string } | undefined;
  let approvedHash: string | undefined;
  let finalResult: unknown;
  let lastFailure: { type: string; message: string; from: 'model' | 'tool' } | undefined;
  let approvalFor: { kind: 'tool_call'; rule: ApprovalRule } | { kind: 'escalation' } | undefined;
  let lastApprovalOutcome: { kind: Approval['kind']; approved: boolean } | undefined;
  let endError: { type: string; message: string } | undefined;
  /** A model call the budget could not cover: Decide falls back to a cheaper model or gives up. */
  let budgetDenial: { detail: string; estimate: CallEstimate; promptChars: number } | undefined;
  let completedBy: 'agent' | 'human' = 'agent';

  // Interrupts: the first one wins and cancels the step in flight.
  let interrupt: { event: Extract<RunEvent, 'cancelled' | 'budget_exceeded' | 'taken_over'>; detail: string } | undefined;
  let stepScope: CancellationScope | undefined;
  let takeover: TakeoverUpdateInput | undefined;
  const interruptWith = (event: NonNullable<typeof interrupt>['event'], detail: string) => {
    interrupt ??= { event, detail };
    stepScope?.cancel();
  };

  setHandler(stateQuery, () => state);
  setHandler(
    approvalUpdate,
    (u: ApprovalUpdateInput) => {
      const approval = state.approvals.find((a) => a.id === u.approval_id)!;
      const vote = { approver: u.approver.subject, decision: u.decision, comment: u.comment, at: new Date().toISOString() };
      if (u.decision === 'reject') {
        approval.decisions.push(vote);
        approval.status = 'rejected';
      } else if (u.edited_args) {
        const diff = diffArgs(approval.args, u.edited_args);
        approval.decisions.push({ ...vote, edited_args: u.edited_args, diff });
        approval.args = u.edited_args;
        approval.args_hash = argsHash(approval.tool!, u.edited_args);
      } else {
        approval.decisions.push(vote);
      }
      const approvals = currentApprovers(approval).size;
      if (approval.status === 'pending' && approvals >= approval.quorum) approval.status = 'approved';
      log.info('approval decided', { ...labels, approval_id: approval.id, approver: u.approver.subject, decision: u.decision });
      return { approval_id: approval.id, status: approval.status, approvals, quorum: approval.quorum };
    },
    {
      validator: (u: ApprovalUpdateInput) => {
        const approval = state.approvals.find((a) => a.id === u.approval_id);
        if (!approval) throw decisionError(DecisionError.ApprovalNotFound, `run ${runId} has no approval ${u.approval_id}`);
        if (approval.status !== 'pending')
          throw decisionError(DecisionError.ApprovalNotPending, `approval ${u.approval_id} is already ${approval.status}`);
        const allowed = decidersOf(approval);
        if (!mayDecide(u.approver, allowed)) {
          throw decisionError(DecisionError.ApproverNotAllowed, `${u.approver.subject} may not decide approval ${u.approval_id}`);
        }
        if (approval.args_hash !== undefined && u.args_hash !== approval.args_hash) {
          throw decisionError(
            DecisionError.ArgsHashMismatch,
            `args_hash does not match the pending call (it is ${approval.args_hash}); reload the approval`,
          );
        }
        if (currentApprovers(approval).has(u.approver.subject)) {
          throw decisionError(DecisionError.DuplicateVote, `${u.approver.subject} has already approved ${u.approval_id}`);
        }
        if (u.edited_args && approval.kind !== 'tool_call') {
          throw decisionError(DecisionError.InvalidEdit, 'only tool-call approvals take edited arguments');
        }
      },
    },
  );
  setHandler(
    takeoverUpdate,
    async (u: TakeoverUpdateInput) => {
      takeover = u;
      interruptWith('taken_over', `${u.operator.subject}: ${u.reason}`);
      await condition(() => isTerminal(state.current));
      return state.output;
    },
    {
      validator: (u: TakeoverUpdateInput) => {
        if (!u.operator.roles.some((r) => OPERATOR_ROLES.includes(r))) {
          throw decisionError(DecisionError.ApproverNotAllowed, `taking over a run needs one of the roles ${OPERATOR_ROLES.join(', ')}`);
        }
        if (state.status !== 'running' || interrupt) throw decisionError(DecisionError.RunNotActive, `run ${runId} is no longer running`);
      },
    },
  );

  // The run's deadline is a workflow timer: it interrupts whatever is in flight, approvals included.
  const deadlineMs = Date.parse(input.requested_at) + limits.timeout_seconds * 1000 - Date.now();
  void sleep(Math.max(deadlineMs, 1)).then(
    () => interruptWith('budget_exceeded', 'timeout_seconds'),
    () => undefined, // the run ended or was cancelled first
  );

  const planOptions = (model: ModelSettings) => ({
    startToCloseTimeout: '2 minutes',
    heartbeatTimeout: '30 seconds',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: {
      initialInterval: '1s',
      backoffCoefficient: 2,
      maximumInterval: '30s',
      maximumAttempts: def.model_max_attempts,
      nonRetryableErrorTypes: [...NON_RETRYABLE],
    },
    summary: `plan with ${model.provider}/${model.name}`,
  });
  // The governance store, through local activities: short database calls run by this worker without a
  // round trip through the task queue (they are markers in the history). A store that is down makes
  // the run wait (and retry) rather than spend blind.
  const governance = proxyLocalActivities<Activities>({
    startToCloseTimeout: '30 seconds',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', nonRetryableErrorTypes: [...NON_RETRYABLE] },
    summary: 'governance store',
  });
  /**
   * Audit rows and settlements in flight: written without holding up the run, awaited before it ends
   * or continues as new. (A settlement can lag: until then the reservation counts at its estimate.)
   */
  const governanceWrites: Promise<unknown>[] = [];
  const audit = (
    step: number,
    e: Omit<AuditEntry, 'tenant' | 'run_id' | 'trace_id' | 'dedupe_key' | 'principal'> & { principal?: string },
  ) => {
    if (!auditInRun) return;
    const row = {
      ...e,
      tenant: input.initiator.tenant,
      principal: e.principal ?? input.initiator.subject,
      run_id: runId,
      ...(input.trace_id ? { trace_id: input.trace_id } : {}),
      details: { agent: def.name, agent_version: def.version, step, ...e.details },
      dedupe_key: `${runId}/${execution}/${step}/${e.action}`,
    };
    governanceWrites.push(CancellationScope.nonCancellable(() => governance.recordAudit([row])));
  };
  // Settling runs even while the run is being cancelled, but gives up after about five minutes of a
  // store that does not answer: the reservation then keeps counting at its estimate (the safe side)
  // and the run can still end.
  const settling = proxyLocalActivities<Activities>({
    startToCloseTimeout: '30 seconds',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 12 },
    summary: 'governance store: settle',
  });
  /** Replaces a reservation's estimate with the actual usage, without holding up the run. */
  const settle = (stepIndex: number, usd: number, tokens: number): void => {
    const write = CancellationScope.nonCancellable(() =>
      settling.settleBudget({ run_id: runId, execution, step: stepIndex, actual_usd: nanoUsd(usd), actual_tokens: tokens }),
    ).catch((err: unknown) =>
      log.warn('could not settle a budget reservation; it keeps counting at its estimate', {
        ...labels,
        step: stepIndex,
        error: failureOf(err).message,
      }),
    );
    governanceWrites.push(write);
  };
  const governanceWritten = () => CancellationScope.nonCancellable(() => Promise.all(governanceWrites.splice(0)));
  const toolOptions = (spec: ToolSpec) => ({
    startToCloseTimeout: spec.timeout_ms,
    heartbeatTimeout: Math.max(2000, Math.min(spec.timeout_ms, 10_000)),
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumAttempts: spec.max_attempts, nonRetryableErrorTypes: [...NON_RETRYABLE] },
    summary: `${spec.side_effect} tool ${spec.name}`,
  });

  const enter = (type: StepType, reason: string, inputSummary: string): Step => {
    const step: Step = { index: state.steps.length + 1, type, started_at: new Date().toISOString(), input_summary: inputSummary, reason };
    state.steps.push(step);
    state.current = type;
    upsertSearchAttributes([{ key: RunSearchAttributes.runState, value: type }]);
    return step;
  };
  const finish = (step: Step, outputSummary?: string, error?: { type: string; message: string }) => {
    step.ended_at = new Date().toISOString();
    if (outputSummary !== undefined) step.output_summary = outputSummary;
    if (error) step.error = error;
  };
  /** Runs a step's work in its own cancellation scope, so an interrupt cancels just that work. */
  let stepWasCancelled = false;
  const inStep = async <T>(work: () => Promise<T>): Promise<T> => {
    const scope = new CancellationScope();
    stepScope = scope;
    stepWasCancelled = false;
    try {
      return await scope.run(work);
    } finally {
      // A tool may fail with its own error when cancelled; what counts is that the scope was cancelled.
      stepWasCancelled = scope.consideredCancelled;
      stepScope = undefined;
    }
  };
  const interrupted = (err: unknown): boolean => {
    if (!isCancellation(err) && !stepWasCancelled) return false;
    // A cancellation nobody asked for inside the workflow is the caller's cancel request.
    interrupt ??= { event: 'cancelled', detail: 'cancelled through the API' };
    return true;
  };
  const exceededBudget = (): string | undefined =>
    state.steps.length >= limits.max_steps
      ? 'max_steps'
      : limits.max_tokens !== undefined && usage.input_tokens + usage.output_tokens > limits.max_tokens
        ? 'max_tokens'
        : limits.max_cost_usd !== undefined && usage.cost_usd > limits.max_cost_usd
          ? 'max_cost_usd'
          : undefined;

  /** The policy's decision for a call, or undefined when the run has no policy (runs started before it). */
  const checkPolicy = (action: PolicyAction, resource: PolicyResource, dataLabel?: Label): PolicyDecision | undefined =>
    input.policy
      ? decidePolicy(
          input.policy,
          { subject: input.initiator.subject, tenant: input.initiator.tenant, roles: input.initiator.roles ?? [] },
          action,
          resource,
          {
            environment: input.environment ?? 'dev',
            ...(dataLabel ? { data_classification: dataLabel } : {}),
            run_tokens: usage.input_tokens + usage.output_tokens,
            run_cost_usd: usage.cost_usd,
          },
        )
      : undefined;
  /** The highest label of the context fields whose values the arguments carry. */
  const dataLabelOf = (args: Record<string, unknown>): Label | undefined => {
    const json = JSON.stringify(args);
    let highest: Label | undefined;
    for (const [field, label] of Object.entries(input.context_labels ?? {})) {
      const value = input.context[field];
      if (value === undefined || value === null || value === '') continue;
      const needle = typeof value === 'string' ? JSON.stringify(value).slice(1, -1) : JSON.stringify(value);
      if (json.includes(needle) && (highest === undefined || LABELS.indexOf(label) > LABELS.indexOf(highest))) highest = label;
    }
    return highest;
  };

  // ---- step handlers: each records its step and returns the event that ends it ----

  const plan = async (reason: string): Promise<RunEvent> => {
    const model = fallbackUsed && def.fallback?.model ? def.fallback.model : def.model;
    const step = enter('Plan', reason, summarize(input.task));
    const modelDecision = checkPolicy('model_call', { agent: def.name });
    if (modelDecision) step.policy = { effect: modelDecision.effect, rule: modelDecision.rule, reason: modelDecision.reason };
    if (modelDecision && modelDecision.effect !== 'allow') {
      endError = {
        type: ErrorCode.PolicyDenied,
        message: `policy ${modelDecision.effect === 'deny' ? 'denied' : 'did not allow'} the model call: ${modelDecision.reason}`,
      };
      finish(step, 'denied by policy', endError);
      audit(step.index, {
        action: 'policy.model_call',
        outcome: modelDecision.effect,
        reason: modelDecision.reason,
        rule: modelDecision.rule,
        details: { model: `${model.provider}/${model.name}` },
      });
      return 'model_denied';
    }
    // Budgets before the call: the run's own cost budget, then the tenant's daily budget (reserved).
    const promptChars =
      def.instructions.length + input.task.length + JSON.stringify(input.context).length + JSON.stringify(observations).length;
    const estimate = estimateCall(model, promptChars);
    const notCalled = (detail: string): RunEvent => {
      budgetDenial = { detail, estimate, promptChars };
      finish(step, `not called: ${model.provider}/${model.name} needs up to $${estimate.cost_usd}`, {
        type: ErrorCode.BudgetExceeded,
        message: `budget_exceeded: ${detail}`,
      });
      return 'budget_denied';
    };
    if (
      budgetsBeforeCall &&
      limits.max_cost_usd !== undefined &&
      estimate.cost_usd > 0 &&
      nanoUsd(usage.cost_usd + estimate.cost_usd) > limits.max_cost_usd
    ) {
      return notCalled(`max_cost_usd: the run has spent $${nanoUsd(usage.cost_usd)} of $${limits.max_cost_usd}`);
    }
    const reserving =
      budgetsBeforeCall &&
      tenantBudget !== undefined &&
      ((tenantBudget.daily_cost_usd !== undefined && estimate.cost_usd > 0) || tenantBudget.daily_tokens !== undefined);
    if (reserving) {
      let reservation: Awaited<ReturnType<Activities['reserveBudget']>>;
      try {
        reservation = await inStep(() =>
          governance.reserveBudget({
            tenant: input.initiator.tenant,
            run_id: runId,
            execution,
            step: step.index,
            estimate_usd: estimate.cost_usd,
            estimate_tokens: estimate.tokens,
            limit: tenantBudget,
          }),
        );
      } catch (err) {
        if (interrupted(err)) {
          // The call was not made: release whatever a reservation attempt may have committed.
          settle(step.index, 0, 0);
          finish(step, 'interrupted');
          return interrupt!.event;
        }
        lastFailure = { ...failureOf(err), from: 'model' };
        finish(step, undefined, lastFailure);
        return 'model_failed';
      }
      if (!reservation.granted) {
        const rule = Object.hasOwn(input.policy?.budgets?.tenants ?? {}, input.initiator.tenant) ? input.initiator.tenant : '*';
        audit(step.index, {
          action: 'budget.reserve',
          outcome: 'denied',
          reason: reservation.reason ?? reservation.exceeded ?? 'tenant budget',
          rule: `budgets.tenants.${rule}`,
          details: { model: `${model.provider}/${model.name}`, estimate_usd: estimate.cost_usd, estimate_tokens: estimate.tokens },
        });
        log.warn('tenant budget denied a model call', { ...labels, step: step.index, reason: reservation.reason });
        return notCalled(reservation.reason ?? reservation.exceeded ?? 'tenant_daily_cost');
      }
      if (interrupt) {
        // Interrupted while reserving: the call is not made, so nothing is spent.
        settle(step.index, 0, 0);
        finish(step, 'interrupted');
        return interrupt.event;
      }
    }
    const agent = model === def.model ? input.agent : { ...input.agent, definition: { ...def, model } };
    let result: PlanResult;
    try {
      result = await inStep(() =>
        proxyActivities<Activities>(planOptions(model)).plan({
          run_id: runId,
          step: step.index,
          agent,
          task: input.task,
          context: input.context,
          observations,
        }),
      );
    } catch (err) {
      if (interrupted(err)) {
        // Interrupted mid-call: the vendor may have billed it; count the estimate.
        if (reserving) settle(step.index, estimate.cost_usd, estimate.tokens);
        finish(step, 'interrupted');
        return interrupt!.event;
      }
      // Vendors do not bill failed requests: release the reservation.
      if (reserving) settle(step.index, 0, 0);
      lastFailure = { ...failureOf(err), from: 'model' };
      finish(step, undefined, lastFailure);
      return 'model_failed';
    }
    if (reserving) settle(step.index, result.usage.cost_usd, result.usage.input_tokens + result.usage.output_tokens);
    step.usage = result.usage;
    usage.input_tokens += result.usage.input_tokens;
    usage.output_tokens += result.usage.output_tokens;
    usage.cost_usd += result.usage.cost_usd;
    finish(step, summarize(result.action));
    if (result.action.type === 'final') {
      finalResult = result.action.result;
      return 'final_proposed';
    }
    toolRequest = { tool: result.action.tool, args: result.action.args, reason: result.action.reason };
    approvedHash = undefined;
    return 'tool_requested';
  };

  const toolCall = async (reason: string): Promise<RunEvent> => {
    const req = toolRequest!;
    const step = enter('ToolCall', reason, `${req.tool} ${summarize(req.args)}`);
    const spec = input.agent.tools[req.tool];
    if (!def.tools.includes(req.tool) || !spec) {
      endError = {
        type: ErrorCode.ToolNotAllowed,
        message: `tool "${req.tool}" is not in ${def.name}@${def.version}'s tools (${def.tools.join(', ') || 'none'})`,
      };
      finish(step, 'denied', endError);
      return 'tool_denied';
    }
    const decision = checkPolicy(
      'tool_call',
      {
        agent: def.name,
        tool: req.tool,
        side_effect: spec.side_effect,
        ...(spec.max_classification ? { max_classification: spec.max_classification } : {}),
      },
      dataLabelOf(req.args),
    );
    if (decision) step.policy = { effect: decision.effect, rule: decision.rule, reason: decision.reason };
    // A call that waited for its approval is checked again when it runs; the ledger already has that decision.
    const coveredByApproval = decision?.effect === 'require_approval' && approvedHash === argsHash(req.tool, req.args);
    if (decision && decision.effect !== 'allow' && !coveredByApproval) {
      audit(step.index, {
        action: 'policy.tool_call',
        outcome: decision.effect,
        reason: decision.reason,
        rule: decision.rule,
        details: { tool: req.tool, side_effect: spec.side_effect, args_hash: argsHash(req.tool, req.args) },
      });
    }
    if (decision?.effect === 'deny') {
      endError = { type: ErrorCode.PolicyDenied, message: `policy denied ${req.tool}: ${decision.reason}` };
      log.warn('policy denied a tool call', { ...labels, tool: req.tool, rule: decision.rule });
      finish(step, 'denied by policy', endError);
      return 'tool_denied';
    }
    const hash = argsHash(req.tool, req.args);
    const policyRule: ApprovalRule | undefined =
      decision?.effect === 'require_approval'
        ? {
            tool: req.tool,
            reason: decision.reason,
            approvers: decision.approvers ?? { roles: ['approver'], subjects: [] },
            quorum: 1,
            timeout_seconds: 3600,
            on_timeout: 'reject',
          }
        : undefined;
    const rule = def.approvals.find((r) => r.tool === req.tool) ?? policyRule;
    if (rule && approvedHash !== hash) {
      approvalFor = { kind: 'tool_call', rule };
      finish(step, `needs approval: ${rule.reason}`);
      return 'approval_required';
    }
    try {
      const result = await inStep(() =>
        proxyActivities<Activities>(toolOptions(spec)).callTool({
          run_id: runId,
          step: step.index,
          agent: state.agent,
          tool: req.tool,
          args: req.args,
        }),
      );
      observations.push({ step: step.index, tool: req.tool, args: req.args, output: result.output, evidence: result.evidence });
      actions.push({ step: step.index, tool: req.tool, side_effect: spec.side_effect, args: req.args });
      if (spec.side_effect === 'write') {
        audit(step.index, {
          action: 'tool.write',
          outcome: 'done',
          reason: req.reason,
          details: {
            tool: req.tool,
            args_hash: argsHash(req.tool, req.args),
            ...(approvedHash ? { approved_args_hash: approvedHash } : {}),
            output: summarize(result.output),
          },
        });
      }
      state.output.evidence = observations.flatMap((o) => o.evidence);
      finish(step, summarize(result.output));
      return 'tool_succeeded';
    } catch (err) {
      if (interrupted(err)) {
        // We wait for the tool to acknowledge the cancellation. A backend that cannot be cancelled (an MCP
        // server that ignores it) may still have made the effect: such tools are idempotent per step.
        finish(step, 'interrupted');
        return interrupt!.event;
      }
      lastFailure = { ...failureOf(err), from: 'tool' };
      finish(step, undefined, lastFailure);
      return 'tool_failed';
    }
  };

  const humanApproval = async (reason: string): Promise<RunEvent> => {
    const what = approvalFor!;
    const step = enter(
      'HumanApproval',
      reason,
      what.kind === 'tool_call' ? `${toolRequest!.tool} ${summarize(toolRequest!.args)}` : `escalation: ${lastFailure?.message ?? ''}`,
    );
    const timeoutS = what.kind === 'tool_call' ? what.rule.timeout_seconds : (def.fallback?.escalation_timeout_seconds ?? 3600);
    const approval: Approval = {
      id: `apr-${step.index}`,
      kind: what.kind,
      step: step.index,
      reason:
        what.kind === 'tool_call'
          ? what.rule.reason
          : `the run keeps failing: ${lastFailure?.type ?? 'error'}: ${lastFailure?.message ?? ''}`,
      approvers: what.kind === 'tool_call' ? what.rule.approvers : def.fallback!.escalate_to!,
      quorum: what.kind === 'tool_call' ? what.rule.quorum : 1,
      deadline: new Date(Date.now() + timeoutS * 1000).toISOString(),
      on_timeout: what.kind === 'tool_call' ? what.rule.on_timeout : 'reject',
      ...(what.kind === 'tool_call' && what.rule.escalate_to ? { escalate_to: what.rule.escalate_to } : {}),
      status: 'pending',
      decisions: [],
      escalations: 0,
      ...(what.kind === 'tool_call'
        ? { tool: toolRequest!.tool, args: toolRequest!.args, args_hash: argsHash(toolRequest!.tool, toolRequest!.args) }
        : {}),
    };
    if (approval.kind === 'escalation') approval.args_hash = escalationHash(approval);
    state.approvals.push(approval);
    const markPending = (set: { roles: string[]; subjects: string[] } | undefined) =>
      upsertSearchAttributes([
        {
          key: RunSearchAttributes.pendingApprovers,
          value: set ? [...set.roles.map((r) => `role:${r}`), ...set.subjects.map((s) => `subject:${s}`)] : null,
        },
      ]);
    markPending(approval.approvers);
    log.info('approval requested', { ...labels, approval_id: approval.id, kind: approval.kind });
    audit(step.index, {
      action: 'approval.request',
      outcome: 'pending',
      reason: approval.reason,
      details: {
        approval_id: approval.id,
        kind: approval.kind,
        ...(approval.tool ? { tool: approval.tool } : {}),
        args_hash: approval.args_hash,
        approvers: approval.approvers,
        quorum: approval.quorum,
        deadline: approval.deadline,
      },
    });

    try {
      let decided = await inStep(() => condition(() => approval.status !== 'pending', timeoutS * 1000));
      if (!decided && approval.on_timeout === 'escalate' && approval.escalate_to) {
        approval.escalations += 1;
        approval.deadline = new Date(Date.now() + timeoutS * 1000).toISOString();
        markPending(approval.escalate_to);
        log.info('approval escalated', { ...labels, approval_id: approval.id });
        decided = await inStep(() => condition(() => approval.status !== 'pending', timeoutS * 1000));
      }
      if (!decided) approval.status = 'expired';
    } catch (err) {
      markPending(undefined);
      if (interrupted(err)) {
        // Nobody may decide it any more: the run was cancelled, ran out of time or was taken over.
        approval.status = 'withdrawn';
        finish(step, 'interrupted');
        return interrupt!.event;
      }
      throw err;
    }
    markPending(undefined);
    const approved = approval.status === 'approved';
    // Each vote is audited by the gateway that received it; this row is the approval's outcome.
    audit(step.index, {
      action: 'approval.close',
      outcome: approval.status,
      principal: approval.status === 'expired' ? 'system:deadline' : (approval.decisions.at(-1)?.approver ?? 'system:deadline'),
      reason: approval.status === 'expired' ? 'no decision before the deadline' : `${approval.status} (quorum ${approval.quorum})`,
      details: { approval_id: approval.id, kind: approval.kind, args_hash: approval.args_hash, escalations: approval.escalations },
    });
    lastApprovalOutcome = { kind: approval.kind, approved };
    finish(
      step,
      `${approval.status}${approval.decisions.length ? ' by ' + approval.decisions.map((d) => `${d.approver}:${d.decision}`).join(', ') : ''}`,
    );
    if (approval.kind === 'escalation') return approved ? 'retry' : 'rejected';
    if (approved) {
      toolRequest = { ...toolRequest!, args: approval.args! };
      approvedHash = approval.args_hash;
      return 'approved';
    }
    const who = approval.decisions.find((d) => d.decision === 'reject');
    const why = who ? `rejected by ${who.approver}${who.comment ? `: ${who.comment}` : ''}` : 'no decision before the deadline';
    warnings.push(`${toolRequest!.tool} was not run: ${why}`);
    observations.push({
      step: step.index,
      tool: toolRequest!.tool,
      args: toolRequest!.args,
      output: { not_run: true, reason: why },
      evidence: [],
    });
    return 'rejected';
  };

  const validate = (reason: string): RunEvent => {
    if (finalResult === undefined) {
      const step = enter('Validate', reason, 'tool output');
      // The tool activity already checked the output against the tool's own schema.
      finish(step, 'tool output matches its schema');
      return 'output_valid';
    }
    const step = enter('Validate', reason, summarize(finalResult));
    const spec = input.output_spec ?? def.output_schema;
    const violations = spec ? checkOutputSpec(spec, finalResult) : [];
    if (violations.length === 0) {
      finish(step, spec ? 'result matches output_spec' : 'no output_spec');
      return 'final_valid';
    }
    const message = `result violates output_spec: ${violations.map((v) => `${v.path}: ${v.message}`).join('; ')}`;
    finish(step, undefined, { type: ErrorCode.OutputSpecViolation, message });
    if (repairs < def.max_repairs) {
      repairs += 1;
      observations.push({
        step: step.index,
        tool: 'output_spec',
        args: {},
        output: { rejected_result: finalResult, violations },
        evidence: [],
      });
      finalResult = undefined;
      return 'final_invalid_repairable';
    }
    endError = { type: ErrorCode.OutputSpecViolation, message };
    return 'final_invalid';
  };

  const decide = (reason: string): RunEvent => {
    const step = enter(
      'Decide',
      reason,
      budgetDenial
        ? `after a budget denial: ${budgetDenial.detail}`
        : lastApprovalOutcome && !lastApprovalOutcome.approved
          ? 'after a rejection'
          : 'after a tool result',
    );
    if (budgetDenial) {
      const denied = budgetDenial;
      budgetDenial = undefined;
      const cheaper = def.fallback?.model;
      if (cheaper && !fallbackUsed && estimateCall(cheaper, denied.promptChars).cost_usd < denied.estimate.cost_usd) {
        fallbackUsed = true;
        warnings.push(
          `the budget could not cover ${def.model.provider}/${def.model.name} (${denied.detail}); fell back to the cheaper ${cheaper.provider}/${cheaper.name}`,
        );
        finish(step, `fall back to the cheaper ${cheaper.provider}/${cheaper.name}`);
        return 'fallback';
      }
      endError = { type: ErrorCode.BudgetExceeded, message: `budget_exceeded: ${denied.detail}` };
      finish(step, 'give up: no cheaper model to fall back to');
      return 'give_up';
    }
    if (lastApprovalOutcome?.kind === 'escalation' && !lastApprovalOutcome.approved) {
      endError = { type: lastFailure?.type ?? ErrorCode.RunFailed, message: `gave up after escalation: ${lastFailure?.message ?? ''}` };
      finish(step, 'give up');
      return 'give_up';
    }
    lastApprovalOutcome = undefined;
    finish(step, 'continue with the model');
    return 'continue';
  };

  const retryFallback = (reason: string): RunEvent => {
    const step = enter('RetryFallback', reason, lastFailure ? `${lastFailure.type}: ${lastFailure.message}` : 'human asked to retry');
    if (lastApprovalOutcome?.kind === 'escalation' && lastApprovalOutcome.approved) {
      lastApprovalOutcome = undefined;
      finish(step, 'retry, as the escalation approver decided');
      return 'retry';
    }
    if (lastFailure?.from === 'model' && def.fallback?.model && !fallbackUsed) {
      fallbackUsed = true;
      warnings.push(
        `model ${def.model.provider}/${def.model.name} failed (${lastFailure.type}); fell back to ${def.fallback.model.provider}/${def.fallback.model.name}`,
      );
      finish(step, `fall back to ${def.fallback.model.provider}/${def.fallback.model.name}`);
      return 'fallback';
    }
    if (def.fallback?.escalate_to) {
      approvalFor = { kind: 'escalation' };
      finish(step, 'escalate to a human');
      return 'escalate';
    }
    endError = { type: lastFailure?.type ?? ErrorCode.RunFailed, message: lastFailure?.message ?? 'the run failed' };
    finish(step, 'give up');
    return 'give_up';
  };

  // ---- the interpreter ----

  log.info('run started', { ...labels, generation: carry?.generation ?? 0 });
  let current: StepType = 'Plan';
  let reason = carry ? 'continued as new' : 'run started';
  while (!isTerminal(current)) {
    let event: RunEvent | undefined;
    const over = interrupt ? undefined : exceededBudget();
    if (over) interrupt = { event: 'budget_exceeded', detail: over };
    if (interrupt) {
      event = interrupt.event;
    } else {
      // Keep each Temporal run's history small: at a Plan boundary, carry the state into a fresh run.
      const longHistory = state.steps.length - stepsAtStart >= (def.budgets.steps_per_history ?? DEFAULT_STEPS_PER_HISTORY);
      if (current === 'Plan' && (longHistory || workflowInfo().continueAsNewSuggested)) {
        await condition(allHandlersFinished);
        await governanceWritten();
        log.info('continuing as new', { ...labels, steps: state.steps.length });
        return await continueAsNew<typeof agentRun>({
          ...input,
          carry: {
            steps: state.steps,
            usage,
            observations,
            actions,
            warnings,
            approvals: state.approvals,
            repairs,
            fallback_used: fallbackUsed,
            generation: (carry?.generation ?? 0) + 1,
          },
        });
      }
      switch (current) {
        case 'Plan':
          event = await plan(reason);
          break;
        case 'ToolCall':
          event = await toolCall(reason);
          break;
        case 'HumanApproval':
          event = await humanApproval(reason);
          break;
        case 'Validate':
          event = validate(reason);
          break;
        case 'Decide':
          event = decide(reason);
          break;
        case 'RetryFallback':
          event = retryFallback(reason);
          break;
      }
    }
    if (event === undefined) throw new Error(`no handler for step ${current}`);
    const next = transition(current, event);
    reason = interrupt && event === interrupt.event ? `${event}: ${interrupt.detail}` : event;
    current = next;
  }

  // ---- the end: Complete or Fail ----
  state.output.evidence = observations.flatMap((o) => o.evidence);
  if (current === 'Complete') {
    if (interrupt?.event === 'taken_over' && takeover) {
      completedBy = 'human';
      warnings.push(`completed by hand by ${takeover.operator.subject}: ${takeover.reason}`);
      state.output.result = takeover.result;
    } else {
      state.output.result = finalResult;
    }
    const step = enter('Complete', reason, summarize(state.output.result));
    finish(step, completedBy === 'human' ? 'result provided by a human' : 'result from the agent');
    state.output.completed_by = completedBy;
    state.status = 'completed';
    state.current = 'Complete';
    log.info('run completed', { ...labels, steps: state.steps.length, completed_by: completedBy });
    if (completedBy === 'human' && takeover) {
      audit(step.index, { action: 'run.taken_over', outcome: 'completed', principal: takeover.operator.subject, reason: takeover.reason });
    }
    await governanceWritten();
    await CancellationScope.nonCancellable(() => condition(allHandlersFinished));
    return { status: 'completed', ...state.output, usage, steps: state.steps, approvals: state.approvals, completed_by: completedBy };
  }

  const cancelled = interrupt?.event === 'cancelled';
  const error =
    interrupt?.event === 'budget_exceeded'
      ? { type: ErrorCode.BudgetExceeded, message: `budget_exceeded: ${interrupt.detail}` }
      : cancelled
        ? { type: ErrorCode.Cancelled, message: interrupt!.detail }
        : (endError ?? { type: ErrorCode.RunFailed, message: 'the run failed' });
  const step = enter('Fail', reason, error.message);
  finish(step, undefined, error);
  state.status = cancelled ? 'cancelled' : 'failed';
  log.warn(cancelled ? 'run cancelled' : 'run failed', { ...labels, error_type: error.type, error: error.message });
  // Cancellations also come from the Web UI and the CLI, which the gateway never sees: the run records them.
  if (cancelled) audit(step.index, { action: 'run.cancelled', outcome: 'cancelled', principal: 'temporal', reason: error.message });
  await governanceWritten();
  await CancellationScope.nonCancellable(() => condition(allHandlersFinished));
  const output: AgentRunOutput = { status: state.status, ...state.output, usage, steps: state.steps, approvals: state.approvals, error };
  // A cancelled run ends as Cancelled in Temporal; its steps and actions stay readable through the state query.
  if (cancelled) throw new CancelledFailure(error.message);
  throw ApplicationFailure.create({ type: error.type, message: error.message, nonRetryable: true, details: [output] });
}
