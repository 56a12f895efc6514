import { temporal } from '@temporalio/proto';
import type { Client } from '@temporalio/client';
import type { GovernanceStore } from '../governance/store';

/** What /readyz checks, and how strictly. */
export interface ReadinessDeps {
  client: Client;
  taskQueue: string;
  /** The governance store; absent when the gateway has none (then it is not a dependency). */
  governance?: Pick<GovernanceStore, 'list'>;
  /** The bound of each check (default 2 s): a probe must answer well within its own timeout. */
  timeoutMs?: number;
  /**
   * How recently a poller must have polled to count as a live worker (default 90 s). Temporal lists a
   * worker's pollers for about 5 minutes after it died; a live one polls again at least every minute
   * (the server's long-poll interval), so a poller older than this is a worker that is gone.
   */
  workerFreshMs?: number;
}

/** The outcome: ready only if every dependency answered in time; `checks` says which did not, and why. */
export interface Readiness {
  ready: boolean;
  checks: Record<string, string>;
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Resolves with `work`'s result or rejects once `ms` have passed. */
async function within<T>(ms: number, work: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Checks Temporal, the governance store and a live worker on the task queue, concurrently, each bounded. */
export async function readiness(deps: ReadinessDeps): Promise<Readiness> {
  const timeoutMs = deps.timeoutMs ?? 2_000;
  const freshMs = deps.workerFreshMs ?? 90_000;
  const { client, taskQueue } = deps;
  const grpc = <T>(call: () => Promise<T>) => within(timeoutMs, () => client.withDeadline(Date.now() + timeoutMs, call));

  const temporalCheck = async () => {
    await grpc(() => client.workflowService.getSystemInfo({}));
    return 'ok';
  };
  const workerCheck = async () => {
    const tq = await grpc(() =>
      client.workflowService.describeTaskQueue({
        namespace: client.options.namespace,
        taskQueue: { name: taskQueue },
        taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
      }),
    );
    const pollers = tq.pollers ?? [];
    if (pollers.length === 0) return `no worker polling task queue ${taskQueue}`;
    const newest = Math.max(
      ...pollers.map((p) => Number(p.lastAccessTime?.seconds ?? 0) * 1000 + Math.floor((p.lastAccessTime?.nanos ?? 0) / 1e6)),
    );
    const age = Date.now() - newest;
    return age <= freshMs ? 'ok' : `no worker has polled task queue ${taskQueue} for ${Math.round(age / 1000)} s`;
  };
  const governanceCheck = async () => {
    // A real read (an indexed one that finds nothing), so a store that accepts connections but cannot query fails.
    await within(timeoutMs, () => deps.governance!.list({ tenant: '~readyz', limit: 1 }));
    return 'ok';
  };

  const named: [string, () => Promise<string>][] = [
    ['temporal', temporalCheck],
    ...(deps.governance ? [['governance', governanceCheck] as [string, () => Promise<string>]] : []),
    ['worker', workerCheck],
  ];
  const results = await Promise.all(named.map(([, check]) => check().catch((err: unknown) => `unreachable: ${message(err)}`)));
  const checks = Object.fromEntries(named.map(([name], i) => [name, results[i]!]));
  // A worker cannot be checked when Temporal cannot be reached: say so once, on the cause.
  if (checks.temporal !== 'ok' && checks.worker?.startsWith('unreachable')) checks.worker = 'unknown: Temporal unreachable';
  return { ready: Object.values(checks).every((c) => c === 'ok'), checks };
}
