import {
  ActivityFailure,
  ApplicationFailure,
  defineQuery,
  log,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { ErrorCode, NON_RETRYABLE } from '../contracts/errors';
import type { ActionTaken, AgentRunInput, AgentRunOutput, Observation, RunState, Step, StepType, Usage } from '../contracts/run';
import { RunSearchAttributes } from '../contracts/search-attributes';

/** The run's current state, steps and usage; answered while running and after the run ends. */
export const stateQuery = defineQuery<RunState>('state');

const planner = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '30s',
    maximumAttempts: 5,
    nonRetryableErrorTypes: [...NON_RETRYABLE],
  },
});

function summarize(value: unknown, max = 200): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? 'undefined');
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

function failureOf(err: unknown): { type: string; message: string } {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) return { type: cause.type ?? 'ApplicationFailure', message: cause.message };
  return { type: (cause as Error)?.name ?? 'Error', message: (cause as Error)?.message ?? String(cause) };
}

/**
 * One agent run. Loops Plan → ToolCall until the model returns a final answer, recording every step,
 * and checking the run's budgets (steps, tokens, cost, time) before each one. All effects happen in
 * activities; this code only decides.
 */
export async function agentRun(input: AgentRunInput): Promise<AgentRunOutput> {
  const runId = workflowInfo().workflowId;
  const def = input.agent.definition;
  const limits = {
    max_steps: input.constraints.max_steps ?? def.budgets.max_steps,
    max_tokens: input.constraints.max_tokens ?? def.budgets.max_tokens,
    max_cost_usd: input.constraints.max_cost_usd ?? def.budgets.max_cost_usd,
    timeout_seconds: input.constraints.timeout_seconds ?? def.budgets.timeout_seconds,
  };
  const deadline = Date.parse(input.requested_at) + limits.timeout_seconds * 1000;
  const usage: Usage = { input_tokens: 0, output_tokens: 0, cost_usd: 0 };
  const state: RunState = { status: 'running', current: 'Plan', agent: { name: def.name, version: def.version }, steps: [], usage };
  const observations: Observation[] = [];
  const actions: ActionTaken[] = [];
  setHandler(stateQuery, () => state);

  const output = (extra: Partial<AgentRunOutput> = {}): AgentRunOutput => ({
    status: state.status,
    result: null,
    evidence: observations.flatMap((o) => o.evidence),
    actions_taken: actions,
    warnings: [],
    usage,
    steps: state.steps,
    ...extra,
  });

  const enter = (type: StepType, reason: string, inputSummary: string): Step => {
    const step: Step = { index: state.steps.length + 1, type, started_at: new Date().toISOString(), input_summary: inputSummary, reason };
    state.steps.push(step);
    state.current = type;
    upsertSearchAttributes([{ key: RunSearchAttributes.runState, value: type }]);
    return step;
  };

  const fail = (type: string, message: string, reason: string): never => {
    const step = enter('Fail', reason, message);
    step.ended_at = step.started_at;
    step.error = { type, message };
    state.status = 'failed';
    log.warn('run failed', { run_id: runId, error_type: type, error: message });
    throw ApplicationFailure.create({ type, message, nonRetryable: true, details: [output({ error: { type, message } })] });
  };

  const checkBudgets = (): void => {
    const exceeded =
      state.steps.length >= limits.max_steps
        ? 'max_steps'
        : limits.max_tokens !== undefined && usage.input_tokens + usage.output_tokens > limits.max_tokens
          ? 'max_tokens'
          : limits.max_cost_usd !== undefined && usage.cost_usd > limits.max_cost_usd
            ? 'max_cost_usd'
            : Date.now() > deadline
              ? 'timeout_seconds'
              : undefined;
    if (exceeded) fail(ErrorCode.BudgetExceeded, `budget_exceeded: ${exceeded}`, `limit ${exceeded} reached`);
  };

  log.info('run started', { run_id: runId, agent: def.name, agent_version: def.version });
  let reason = 'run started';
  for (;;) {
    checkBudgets();
    const planStep = enter('Plan', reason, summarize(input.task));
    let plan;
    try {
      plan = await planner.plan({
        run_id: runId,
        step: planStep.index,
        agent: input.agent,
        task: input.task,
        context: input.context,
        observations,
      });
    } catch (err) {
      planStep.ended_at = new Date().toISOString();
      planStep.error = failureOf(err);
      return fail(planStep.error.type, planStep.error.message, 'the model call failed');
    }
    planStep.ended_at = new Date().toISOString();
    planStep.usage = plan.usage;
    planStep.output_summary = summarize(plan.action);
    usage.input_tokens += plan.usage.input_tokens;
    usage.output_tokens += plan.usage.output_tokens;
    usage.cost_usd += plan.usage.cost_usd;

    const action = plan.action;
    if (action.type === 'final') {
      const done = enter('Complete', action.reason || 'the model returned a final answer', summarize(action.result));
      done.ended_at = done.started_at;
      state.status = 'completed';
      log.info('run completed', { run_id: runId, steps: state.steps.length });
      return output({ result: action.result });
    }

    if (!def.tools.includes(action.tool)) {
      fail(
        ErrorCode.ToolNotAllowed,
        `tool "${action.tool}" is not in ${def.name}@${def.version}'s tools (${def.tools.join(', ') || 'none'})`,
        'tool outside allowlist',
      );
    }
    const spec = input.agent.tools[action.tool];
    if (!spec) return fail(ErrorCode.ToolNotFound, `tool "${action.tool}" was not resolved for this run`, 'tool not resolved');
    checkBudgets();
    const toolStep = enter('ToolCall', action.reason || 'the model asked for a tool', `${action.tool} ${summarize(action.args)}`);
    const tools = proxyActivities<Activities>({
      startToCloseTimeout: spec.timeout_ms,
      retry: {
        initialInterval: '1s',
        backoffCoefficient: 2,
        maximumAttempts: spec.max_attempts,
        nonRetryableErrorTypes: [...NON_RETRYABLE],
      },
    });
    try {
      const result = await tools.callTool({ run_id: runId, step: toolStep.index, tool: action.tool, args: action.args });
      toolStep.ended_at = new Date().toISOString();
      toolStep.output_summary = summarize(result.output);
      observations.push({ step: toolStep.index, tool: action.tool, args: action.args, output: result.output, evidence: result.evidence });
      actions.push({ step: toolStep.index, tool: action.tool, side_effect: spec.side_effect, args: action.args });
    } catch (err) {
      toolStep.ended_at = new Date().toISOString();
      toolStep.error = failureOf(err);
      return fail(toolStep.error.type, toolStep.error.message, `tool ${action.tool} failed`);
    }
    reason = `observed the result of ${action.tool}`;
  }
}
