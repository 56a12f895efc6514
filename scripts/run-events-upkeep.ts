// The gateway's care of the run event log (docs/events.md): with PostgreSQL it LISTENs, so events other
// processes (workers elsewhere) append wake its watchers at once; and it purges events past retention.
import type { Settings } from '../config/settings';
import type { RunEventStore } from '../governance/events';
import type { Logger } from '../observability/logger';

/** How often expired events are deleted: retention is in days, so hourly is precise enough and cheap. */
const PURGE_EVERY_MS = 60 * 60 * 1000;

/** Starts listening and purging; the returned function stops both. */
export async function keepRunEvents(events: RunEventStore, settings: Settings, logger: Logger): Promise<() => Promise<void>> {
  const url = settings.governance.databaseUrl;
  if (url) {
    // A lost LISTEN connection costs latency only: readers re-read on a slow poll (gateway/runs/event-stream.ts).
    await events.listenPostgres(url, (err) =>
      logger.warn('run events: LISTEN connection lost; watchers fall back to polling', { error: err.message }),
    );
  }
  const purge = async () => {
    const before = new Date(Date.now() - settings.events.retentionDays * 24 * 60 * 60 * 1000);
    try {
      const n = await events.purge(before);
      if (n > 0) logger.info('run events purged', { count: n, before: before.toISOString() });
    } catch (err) {
      logger.warn('run events: purge failed; the next one retries', { error: err instanceof Error ? err.message : String(err) });
    }
  };
  await purge();
  const timer = setInterval(() => void purge(), PURGE_EVERY_MS);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await events.close();
  };
}
