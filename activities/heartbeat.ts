import { Context } from '@temporalio/activity';

/**
 * Heartbeats while `work` runs: cancellation reaches an activity only through a heartbeat, and a
 * worker that died is noticed within the heartbeat timeout instead of the whole start-to-close timeout.
 */
export async function heartbeating<T>(work: () => Promise<T>, everyMs = 1000): Promise<T> {
  const ctx = Context.current();
  ctx.heartbeat();
  const timer = setInterval(() => ctx.heartbeat(), everyMs);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
