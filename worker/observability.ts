// The worker's half of observability: the Temporal OpenTelemetry interceptors, the sinks through which
// workflows hand over their spans and step observations (never called during replay), and the metrics
// the step observations feed.
import {
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  type OpenTelemetrySinks,
} from '@temporalio/interceptors-opentelemetry';
import { trace } from '@opentelemetry/api';
import { Client } from '@temporalio/client';
import { ApplicationFailure, type Next } from '@temporalio/common';
import {
  Runtime,
  type ActivityExecuteInput,
  type ActivityInboundCallsInterceptor,
  type InjectedSinks,
  type NativeConnection,
  type WorkerInterceptors,
} from '@temporalio/worker';
import type { WorkflowInfo } from '@temporalio/workflow';
import type { NewRunEvent, RunEventSinks } from '../contracts/events';
import type { RunObserverSinks, StepObservation } from '../contracts/observability';
import type { RunEventStore } from '../governance/events';
import { redact } from '../observability/redact';
import { RunSearchAttributes } from '../contracts/run-search-attributes';
import type { WorkerMetrics } from '../observability/metrics';
import { exportWorkflowSpans, recordPastSpan, runAttributes, type WorkflowSpanData } from '../observability/tracing';

/**
 * The workflow interceptor modules bundled with the workflows. Always bundled, tracing on or off, so
 * every worker runs the same workflow code and a run started with tracing replays without it.
 */
export const WORKFLOW_INTERCEPTOR_MODULES = [
  require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors'),
  // Writes SDK flag 6 in the first workflow task, so a refused first update cannot lose it (see the module).
  require.resolve('../workflows/sdk-flags'),
];

/** Puts the failure's type (the platform's error code where there is one) on the RunActivity span as error.type. */
class ErrorTypeInterceptor implements ActivityInboundCallsInterceptor {
  async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    try {
      return await next(input);
    } catch (err) {
      const type = err instanceof ApplicationFailure ? (err.type ?? err.name) : err instanceof Error ? err.name : 'Error';
      trace.getActiveSpan()?.setAttribute('error.type', type);
      throw err;
    }
  }
}

/**
 * Activity interceptors: a RunActivity span under the workflow's StartActivity span, trace ids on
 * activity log lines, and (inside that span) the error type of a failed attempt.
 */
export const activityInterceptors: WorkerInterceptors['activity'] = [
  (ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) }),
  () => ({ inbound: new ErrorTypeInterceptor() }),
];

/** The run a workflow span or observation belongs to, from the workflow's info. */
function runOf(info: WorkflowInfo) {
  const memo = (info.memo ?? {}) as { agent?: unknown; agent_version?: unknown };
  // Sinks get the info as plain data (its TypedSearchAttributes lost their methods on the way out).
  const plain = (info as unknown as { searchAttributes?: Record<string, unknown[] | undefined> }).searchAttributes;
  const tenant = plain?.[RunSearchAttributes.tenant.name]?.[0];
  return {
    run_id: info.workflowId,
    ...(typeof memo.agent === 'string' ? { agent: memo.agent } : {}),
    ...(typeof memo.agent_version === 'string' ? { agent_version: memo.agent_version } : {}),
    ...(typeof tenant === 'string' ? { tenant } : {}),
  };
}

/** What a terminal step or approval does to the metrics and the trace. */
function stepEnded(metrics: WorkerMetrics, info: WorkflowInfo, o: StepObservation): void {
  if (o.duration_ms !== undefined) metrics.stepDuration.observe({ type: o.step_type }, o.duration_ms / 1000);
  if (o.policy) metrics.policyDecisions.inc({ action: o.policy.action, effect: o.policy.effect, rule: o.policy.rule });
  if (o.run_outcome) metrics.runsFinished.inc({ agent: o.agent, version: o.agent_version, outcome: o.run_outcome });
  if (o.step_type === 'HumanApproval') {
    if (o.approval) metrics.approvalWait.observe({ agent: o.agent, outcome: o.approval.status }, (o.duration_ms ?? 0) / 1000);
    const run = { run_id: info.workflowId, agent: o.agent, agent_version: o.agent_version, tenant: o.tenant };
    recordPastSpan('approval wait', o.span, Date.parse(o.started_at), Date.parse(o.ended_at ?? o.started_at), {
      ...runAttributes(run),
      'acp.approval.status': o.approval?.status ?? 'unknown',
      'acp.approval.approvers': o.approval?.approvers ?? [],
      'acp.approval.decided_by': o.approval?.decided_by ?? [],
    });
  }
}

/** Tries a write this many times before giving the events up to the log (a store outage longer than ~7 s). */
const PUBLISH_ATTEMPTS = 4;

/**
 * Writes a run's events to the store, redacted first (the same function as logs and spans, so a
 * classified context value this worker has seen never leaves). Retried with backoff, and not awaited by
 * the sink (the SDK would hold the workflow task until it settled), so a slow store never delays the run;
 * repeats are harmless, the store dedupes on (run_id, seq).
 */
async function publishEvents(store: Pick<RunEventStore, 'append'>, events: NewRunEvent[]): Promise<void> {
  const clean = events.map((e) => ({ ...e, data: redact(e.data) }));
  for (let attempt = 1; ; attempt++) {
    try {
      await store.append(clean);
      return;
    } catch (err) {
      if (attempt >= PUBLISH_ATTEMPTS) {
        Runtime.instance().logger.warn('run events lost: the governance store refused them', {
          run_id: events[0]?.run_id,
          seqs: events.map((e) => e.seq),
          error: err instanceof Error ? err.message : String(err),
        });
        return;
      }
      await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
    }
  }
}

/** Each run's publishing in flight: the tail of its chain. */
const publishing = new Map<string, Promise<void>>();

/**
 * Publishes a run's batches one after another, in the order the workflow made them. Watchers resume
 * after the last seq they saw, so a later seq must never land before an earlier one: concurrent
 * appends (or a retry of one) would let a reader skip the earlier.
 */
function inRunOrder(store: Pick<RunEventStore, 'append'>, events: NewRunEvent[]): Promise<void> {
  const run = events[0]!.run_id;
  const next = (publishing.get(run) ?? Promise.resolve()).then(() => publishEvents(store, events));
  publishing.set(run, next);
  void next.finally(() => {
    if (publishing.get(run) === next) publishing.delete(run);
  });
  return next;
}

/** The sinks every worker registers: the interceptors' span exporter, the run observer and the run event publisher. */
export function workerSinks(
  metrics: WorkerMetrics,
  events?: Pick<RunEventStore, 'append'>,
): InjectedSinks<OpenTelemetrySinks & RunObserverSinks & RunEventSinks> {
  return {
    exporter: {
      export: { fn: (info, spans) => exportWorkflowSpans(runOf(info), spans as unknown as WorkflowSpanData[]) },
    },
    runObserver: {
      // Nothing counts a step's start: the pending-approvals gauge reads visibility (watchPendingApprovals).
      stepStarted: { fn: () => undefined },
      stepEnded: { fn: (info, o) => stepEnded(metrics, info, o) },
    },
    // Without a store (benchmarks, evals) events are not kept: watching needs the gateway's store anyway.
    // Never hand the SDK the write: it awaits every sink before completing the workflow task, so a slow
    // or absent store would stall the run (test/workflow/run-events-sink.test.ts). publishEvents logs
    // what it could not write; nothing is thrown.
    runEvents: {
      publish: {
        fn: (_info, list) => {
          if (events && list.length) void inRunOrder(events, list);
        },
      },
    },
  };
}

/**
 * The same sinks as the worker's, doing nothing: a replay calls no sink, but the workflow looks its sinks
 * up, and a replay without them logs "unregistered external sink" for each call it skips.
 */
export function replaySinks(): InjectedSinks<OpenTelemetrySinks & RunObserverSinks & RunEventSinks> {
  const none = { fn: () => undefined };
  return { exporter: { export: none }, runObserver: { stepStarted: none, stepEnded: none }, runEvents: { publish: none } };
}

/** Pages of visibility read per scrape at most: a bound on the scrape's cost, not on the count's accuracy below it. */
const MAX_PAGES = 10;

/**
 * Feeds `acp_approvals_pending` from Temporal visibility: the runs of this task queue whose RunState is
 * HumanApproval and that are still running, by agent. Every worker of a queue reports the same value
 * (aggregate with max, not sum).
 */
export function watchPendingApprovals(metrics: WorkerMetrics, connection: NativeConnection, namespace: string, taskQueue: string): void {
  const client = new Client({ connection, namespace });
  const query = `WorkflowType = "agentRun" AND TaskQueue = ${JSON.stringify(taskQueue)} AND RunState = "HumanApproval" AND ExecutionStatus = "Running"`;
  metrics.watchApprovals(
    async () => {
      const counts = new Map<string, number>();
      let page: Uint8Array | undefined;
      for (let i = 0; i < MAX_PAGES; i++) {
        const res = await client.workflowService.listWorkflowExecutions({ namespace, query, pageSize: 1000, nextPageToken: page });
        for (const e of res.executions ?? []) {
          const raw = e.searchAttributes?.indexedFields?.[RunSearchAttributes.agentName.name];
          const agent = raw ? client.options.loadedDataConverter.payloadConverter.fromPayload<string>(raw) : 'unknown';
          counts.set(agent, (counts.get(agent) ?? 0) + 1);
        }
        if (!res.nextPageToken?.length) break;
        page = res.nextPageToken;
      }
      return counts;
    },
    (err) => {
      Runtime.instance().logger.warn('acp_approvals_pending: reading Temporal visibility failed; the gauge keeps its last values', {
        error: err instanceof Error ? err.message : String(err),
      });
    },
  );
}
