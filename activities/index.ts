import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { z } from 'zod';
import { ErrorCode } from '../contracts/errors';
import { PlanActionSchema, type PlanRequest, type PlanResult, type ToolCallRequest, type ToolCallResult } from '../contracts/run';
import type { AuditEntry, Reservation, ReserveBudgetRequest, SettleRequest } from '../contracts/governance';
import type { GovernanceStore } from '../governance/store';
import { WorkerMetrics } from '../observability/metrics';
import { addSensitiveValues, restrictedContextValues } from '../observability/redact';
import { observeModelCall, observeToolCall } from './observed';
import type { FileBlobStore } from './blob-store';
import type { ModelProvider } from './model/provider';
import { withToolContracts } from './model/tool-contracts';
import type { ToolRegistry } from './tools/registry';

export interface ActivityDeps {
  providers: ModelProvider[];
  tools: ToolRegistry;
  /** Where tool outputs too large for workflow history go. */
  blobs: FileBlobStore;
  /** Tool outputs whose JSON is larger than this stay out of history (default 32 KiB). */
  maxInlineOutputBytes?: number;
  /** The governance store: tenant budget counters and the audit ledger runs write to. */
  governance: Pick<GovernanceStore, 'append' | 'reserve' | 'settle'>;
  /** The worker's metrics (a registry nobody scrapes when absent). */
  metrics?: WorkerMetrics;
}

/** The default limit on a tool output kept in workflow history, in bytes of JSON. */
export const MAX_INLINE_OUTPUT_BYTES = 32 * 1024;
const MAX_EVIDENCE = 20;
const MAX_EXCERPT = 500;

/**
 * Heartbeats while `work` runs: cancellation reaches an activity only through a heartbeat, and a
 * worker that died is noticed within the heartbeat timeout instead of the whole start-to-close timeout.
 */
async function heartbeating<T>(work: () => Promise<T>, everyMs = 1000): Promise<T> {
  const ctx = Context.current();
  ctx.heartbeat();
  const timer = setInterval(() => ctx.heartbeat(), everyMs);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

/** Builds the activities with their dependencies; the worker registers what this returns. */
export function createActivities({
  providers,
  tools,
  blobs,
  governance,
  maxInlineOutputBytes = MAX_INLINE_OUTPUT_BYTES,
  metrics = new WorkerMetrics(),
}: ActivityDeps) {
  const byName = new Map(providers.map((p) => [p.name, p]));

  return {
    /** Plan: asks the agent's model for the next action and validates it before the workflow sees it. */
    async plan(req: PlanRequest): Promise<PlanResult> {
      const log = Context.current().log;
      const providerName = req.agent.definition.model.provider;
      const provider = byName.get(providerName);
      if (!provider) {
        throw ApplicationFailure.create({
          type: ErrorCode.ProviderUnavailable,
          message: `model provider "${providerName}" is not configured on this worker (have: ${[...byName.keys()].join(', ')})`,
          nonRetryable: true,
        });
      }
      const { info, cancellationSignal } = Context.current();
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
      const action = PlanActionSchema.safeParse(result.action);
      if (!action.success) {
        throw ApplicationFailure.create({
          type: ErrorCode.InvalidModelOutput,
          message: `model ${result.model} returned an invalid action: ${describeIssues(action.error)}`,
          nonRetryable: true,
          // The answer was produced (and billed): the workflow counts its usage toward the budgets.
          details: [{ usage: result.usage, ...(result.call ? { call: result.call } : {}) }],
        });
      }
      log.info('plan decided', {
        run_id: req.run_id,
        agent: req.agent.definition.name,
        agent_version: req.agent.definition.version,
        step: req.step,
        action: action.data.type,
        model: result.model,
        ...(result.call
          ? {
              finish_reason: result.call.finish_reason,
              latency_ms: result.call.latency_ms,
              attempt: result.call.attempt,
              repairs: result.call.repairs,
            }
          : {}),
      });
      return { ...result, action: action.data };
    },

    /**
     * Reserves a model call's estimated cost against the tenant's daily budget, before the call. Atomic
     * and idempotent per run and step (see GovernanceStore.reserve); the day is today in UTC.
     */
    async reserveBudget({ settle_first, ...req }: ReserveBudgetRequest): Promise<Reservation> {
      // The previous call's settlement first, so the reservation sees the actual spend, not its estimate.
      if (settle_first) await governance.settle(settle_first);
      const reservation = await governance.reserve({ ...req, day: new Date().toISOString().slice(0, 10) });
      if (!reservation.replayed) metrics.budgetReservations.inc({ outcome: reservation.granted ? 'granted' : 'denied' });
      Context.current().log.info(reservation.granted ? 'budget reserved' : 'budget reservation denied', {
        run_id: req.run_id,
        step: req.step,
        tenant: req.tenant,
        estimate_usd: req.estimate_usd,
        replayed: reservation.replayed,
        ...(reservation.reason ? { reason: reservation.reason } : {}),
      });
      return reservation;
    },

    /** Settles a reservation with the call's actual usage (zero if it was not made); idempotent. */
    async settleBudget(req: SettleRequest): Promise<{ settled: boolean }> {
      return governance.settle(req);
    },

    /** Appends rows to the audit ledger from inside a run; each carries a dedupe key, so a retry appends once. */
    async recordAudit(entries: (AuditEntry & { dedupe_key: string })[]): Promise<void> {
      for (const e of entries) await governance.append(e);
    },

    /** ToolCall: validates the arguments, runs the tool, validates what it returned. */
    async callTool(req: ToolCallRequest): Promise<ToolCallResult> {
      const ctx = Context.current();
      const tool = tools.get(req.tool);
      if (!tool) {
        throw ApplicationFailure.create({ type: ErrorCode.ToolNotFound, message: `unknown tool "${req.tool}"`, nonRetryable: true });
      }
      const args = tool.input.safeParse(req.args);
      if (!args.success) {
        throw ApplicationFailure.create({
          type: ErrorCode.ToolInputInvalid,
          message: `arguments for ${req.tool} are invalid: ${describeIssues(args.error)}`,
          nonRetryable: true,
        });
      }
      const started = Date.now();
      let result: Awaited<ReturnType<typeof tool.execute>>;
      try {
        result = await observeToolCall(req, tool, metrics, () =>
          heartbeating(() => tool.execute(args.data, { run_id: req.run_id, step: req.step, signal: ctx.cancellationSignal })),
        );
      } catch (err) {
        // Report a cancellation as one (the signal's reason is the SDK's CancelledFailure), whatever the tool threw.
        if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason ?? err;
        throw err;
      }
      const { output, evidence = [] } = result;
      const checked = tool.output.safeParse(output);
      if (!checked.success) {
        throw ApplicationFailure.create({
          type: ErrorCode.ToolOutputInvalid,
          message: `${req.tool} returned output that fails its schema: ${describeIssues(checked.error)}`,
          nonRetryable: true,
        });
      }
      ctx.log.info('tool called', {
        run_id: req.run_id,
        agent: req.agent.name,
        agent_version: req.agent.version,
        step: req.step,
        tool: req.tool,
        args: JSON.stringify(req.args).slice(0, 300),
        latency_ms: Date.now() - started,
      });
      // Large outputs stay out of history: the run keeps a summary and a reference to the full output.
      const json = JSON.stringify(checked.data);
      const bytes = Buffer.byteLength(json);
      const kept = evidence.slice(0, MAX_EVIDENCE).map((e) => ({ source: e.source, excerpt: e.excerpt.slice(0, MAX_EXCERPT) }));
      if (bytes > maxInlineOutputBytes) {
        const ref = await blobs.put(json);
        ctx.log.info('tool output stored out of history', { run_id: req.run_id, tool: req.tool, bytes, ref });
        return { output: { truncated: true, ref, bytes, preview: json.slice(0, 2000) }, evidence: kept };
      }
      return { output: checked.data, evidence: kept };
    },
  };
}

/** The activity interface the workflow proxies (types only). */
export type Activities = ReturnType<typeof createActivities>;
