// The Plan activity: the agent's model picks the run's next action, checked before the workflow sees it.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorCode } from '../contracts/errors';
import { PlanActionSchema, type PlanAction, type PlanRequest, type PlanResult } from '../contracts/run';
import type { WorkerMetrics } from '../observability/metrics';
import { addSensitiveValues, restrictedContextValues } from '../observability/redact';
import { describeIssues } from '../shared/errors';
import { heartbeating } from './heartbeat';
import type { ModelProvider } from './model/provider';
import { withToolContracts } from './model/tool-contracts';
import { observeModelCall } from './observed';
import type { ToolRegistry } from './tools/registry';

/** What the plan activity needs: the worker's model providers, its tools (their contracts go to the model), metrics. */
export interface PlanDeps {
  providers: ModelProvider[];
  tools: ToolRegistry;
  metrics: WorkerMetrics;
}

/** The worker's provider for the agent's model; an unknown one is a non-retryable failure naming those there are. */
function providerFor(byName: Map<string, ModelProvider>, req: PlanRequest): ModelProvider {
  const providerName = req.agent.definition.model.provider;
  const provider = byName.get(providerName);
  if (provider) return provider;
  throw ApplicationFailure.create({
    type: ErrorCode.ProviderUnavailable,
    message: `model provider "${providerName}" is not configured on this worker (have: ${[...byName.keys()].join(', ')})`,
    nonRetryable: true,
  });
}

/** The model's action, parsed; an invalid one fails the step (non-retryable) but keeps the usage it cost. */
function checkedAction(result: PlanResult): PlanAction {
  const action = PlanActionSchema.safeParse(result.action);
  if (action.success) return action.data;
  throw ApplicationFailure.create({
    type: ErrorCode.InvalidModelOutput,
    message: `model ${result.model} returned an invalid action: ${describeIssues(action.error)}`,
    nonRetryable: true,
    // The answer was produced (and billed): the workflow counts its usage toward the budgets.
    details: [{ usage: result.usage, ...(result.call ? { call: result.call } : {}) }],
  });
}

/** The fields of the `plan decided` log line. */
function decidedFields(req: PlanRequest, result: PlanResult, action: PlanAction): Record<string, unknown> {
  return {
    run_id: req.run_id,
    agent: req.agent.definition.name,
    agent_version: req.agent.definition.version,
    step: req.step,
    action: action.type,
    model: result.model,
    ...(result.call
      ? {
          finish_reason: result.call.finish_reason,
          latency_ms: result.call.latency_ms,
          attempt: result.call.attempt,
          repairs: result.call.repairs,
        }
      : {}),
  };
}

/** The model activities: `plan`. */
export function planActivities({ providers, tools, metrics }: PlanDeps) {
  const byName = new Map(providers.map((p) => [p.name, p]));
  return {
    /** Plan: asks the agent's model for the next action and validates it before the workflow sees it. */
    async plan(req: PlanRequest): Promise<PlanResult> {
      const provider = providerFor(byName, req);
      const { info, cancellationSignal, log } = Context.current();
      // Restricted context values are hidden from this worker's logs, spans and errors from now on.
      addSensitiveValues(restrictedContextValues(req.context, req.context_labels));
      const request = { ...req, agent: withToolContracts(req.agent, (name) => tools.get(name)) };
      const result = await observeModelCall(req, metrics, () =>
        heartbeating(() =>
          provider.plan(request, cancellationSignal, {
            attempt: info.attempt,
            // A Retry-After longer than the step's own timeout is capped there (the run has a deadline to keep).
            retryCapMs: info.startToCloseTimeoutMs ?? info.scheduleToCloseTimeoutMs ?? 120_000,
          }),
        ),
      );
      const action = checkedAction(result);
      log.info('plan decided', decidedFields(req, result, action));
      return { ...result, action };
    },
  };
}
