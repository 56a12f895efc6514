import { NativeConnection, Runtime, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';
import type { RunEventStore } from '../governance/events';
import { TemporalLoggerAdapter, type Logger } from '../observability/logger';
import { WorkerMetrics } from '../observability/metrics';
import { activityInterceptors, WORKFLOW_INTERCEPTOR_MODULES, watchPendingApprovals, workerSinks } from './observability';

export { WORKFLOW_INTERCEPTOR_MODULES } from './observability';

/**
 * Routes the Temporal SDK's logs (worker, workflow through sinks, activities, and core) to the
 * platform logger and, given an address (host:port), serves the SDK's own worker metrics there in
 * Prometheus format. Must run before the first connection or worker is created; later calls are no-ops.
 */
export function installTemporalRuntime(logger: Logger, sdkMetricsAddress?: string): void {
  if (Runtime._instance !== undefined) return;
  Runtime.install({
    logger: new TemporalLoggerAdapter(logger),
    telemetryOptions: {
      logging: { filter: { core: 'WARN', other: 'WARN' }, forward: {} },
      ...(sdkMetricsAddress ? { metrics: { prometheus: { bindAddress: sdkMetricsAddress, countersTotalSuffix: true } } } : {}),
    },
  });
}

export interface WorkerDeps extends ActivityDeps {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  /** A prebuilt bundle (tests build one and share it); by default the worker bundles workflows/. */
  workflowBundle?: WorkflowBundleOption;
  /** Another module of workflows to bundle (the benchmark's, which adds a raw-Temporal baseline). */
  workflowsPath?: string;
  /** The worker's metrics, which its /metrics serves (a registry nobody scrapes when absent). */
  metrics?: WorkerMetrics;
  /** Where runs' events go (docs/events.md); without it they are published to no one. */
  runEvents?: Pick<RunEventStore, 'append'>;
}

/** Creates the worker that runs the agentRun workflow and the plan and tool activities. */
export async function createWorker(deps: WorkerDeps): Promise<Worker> {
  const metrics = deps.metrics ?? new WorkerMetrics();
  metrics.watchCircuits(
    () => deps.tools.names(),
    (tool) => deps.tools.circuitState(tool),
  );
  watchPendingApprovals(metrics, deps.connection, deps.namespace, deps.taskQueue);
  return Worker.create({
    connection: deps.connection,
    namespace: deps.namespace,
    taskQueue: deps.taskQueue,
    activities: createActivities({ ...deps, metrics }),
    // Tracing interceptors are always in place: with tracing off they make no-op spans.
    interceptors: { activity: activityInterceptors, workflowModules: WORKFLOW_INTERCEPTOR_MODULES },
    sinks: workerSinks(metrics, deps.runEvents),
    // Cancellation reaches an activity on its next heartbeat to the server; a short throttle makes a
    // cancel or takeover interrupt a running tool within about a second instead of up to 80% of its
    // heartbeat timeout.
    maxHeartbeatThrottleInterval: '1 second',
    defaultHeartbeatThrottleInterval: '1 second',
    ...(deps.workflowBundle
      ? { workflowBundle: deps.workflowBundle }
      : { workflowsPath: deps.workflowsPath ?? require.resolve('../workflows') }),
  });
}
