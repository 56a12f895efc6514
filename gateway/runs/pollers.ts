// Whether any worker polls the gateway's task queue, for the warning of a dispatch no worker will take
// yet. Asked of Temporal at most once per few seconds, however many dispatches ask. No Express here.
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Logger } from '../../observability/logger';

/** How long an answer about the task queue's pollers is reused. */
export const POLLERS_TTL_MS = 5_000;
/**
 * A poller last seen longer ago than this is taken as gone. An idle worker's long poll is renewed about
 * once a minute, and the server forgets a gone poller only after minutes, so "listed" alone says little.
 */
export const POLLER_SEEN_MS = 120_000;
const DESCRIBE_MS = 1_000;

/** Watches the pollers of one task queue (workflow tasks). */
export class PollerWatch {
  private answer?: { at: number; polled: boolean | undefined };
  private asking?: Promise<boolean | undefined>;

  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
    private readonly logger: Logger,
    private readonly ttlMs = POLLERS_TTL_MS,
  ) {}

  /** The warnings of a dispatch accepted now: none while a worker polls, one when none does. */
  async warnings(): Promise<string[]> {
    const polled = await this.polled();
    return polled === false
      ? [`No worker is polling task queue "${this.taskQueue}": the run is accepted and waits until a worker starts.`]
      : [];
  }

  /** Whether a worker polled recently; undefined when Temporal could not tell (no warning then). */
  private polled(): Promise<boolean | undefined> {
    if (this.answer && Date.now() - this.answer.at < this.ttlMs) return Promise.resolve(this.answer.polled);
    this.asking ??= this.describe().then((polled) => {
      this.answer = { at: Date.now(), polled };
      this.asking = undefined;
      return polled;
    });
    return this.asking;
  }

  private async describe(): Promise<boolean | undefined> {
    const { TaskQueueKind, TaskQueueType } = temporal.api.enums.v1;
    try {
      const res = await this.client.withDeadline(Date.now() + DESCRIBE_MS, () =>
        this.client.workflowService.describeTaskQueue({
          namespace: this.client.options.namespace,
          taskQueue: { name: this.taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
          taskQueueType: TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        }),
      );
      const now = Date.now();
      return (res.pollers ?? []).some((p) => now - Number(p.lastAccessTime?.seconds ?? 0) * 1000 < POLLER_SEEN_MS);
    } catch (err) {
      // The dispatch has succeeded; not knowing about workers is worth a log line, not a failure.
      this.logger.warn('could not describe the task queue for its pollers', {
        task_queue: this.taskQueue,
        error: err instanceof Error ? err.message : String(err),
      });
      return undefined;
    }
  }
}
