// One watcher's Server-Sent Events stream (docs/events.md), without Express: replay what the run event log
// holds after the watcher's last id, then follow it live, woken by the log's notifications (and a slow
// poll, in case a wake-up was lost), with a heartbeat comment so proxies keep an idle stream open. The
// stream ends after the run's terminal event. Watching reads the governance store only: no signal, query
// or history event reaches the run.
import { TERMINAL_EVENT_TYPES, type RunEventFilter, type StoredRunEvent } from '../../contracts/events';
import type { RunEventStore } from '../../governance/events';

/** Where the stream goes: the response's write/end, and how it tells us the watcher left. */
export interface EventSink {
  write(chunk: string): void;
  end(): void;
  onClose(listener: () => void): void;
}

export interface StreamOptions {
  runId: string;
  tenant: string;
  /** The last seq the watcher has (-1: from the start). */
  afterSeq: number;
  heartbeatMs: number;
  /** A re-read without a wake-up this often: a safety net, not the latency path. */
  pollMs?: number;
}

/** One event as an SSE frame; `id:` is what a reconnecting client sends back (the run's seq, or the global id). */
export function frame(e: StoredRunEvent, id: number = e.seq): string {
  const data = { id, seq: e.seq, run_id: e.run_id, type: e.type, at: e.at, agent: e.agent, data: e.data };
  return `id: ${id}\nevent: ${e.type}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** Streams a run's events to `out` until the terminal event or the watcher leaves; resolves then. */
export function streamRunEvents(store: RunEventStore, out: EventSink, o: StreamOptions): Promise<void> {
  return follow(store, out, {
    tenant: o.tenant,
    after: o.afterSeq,
    heartbeatMs: o.heartbeatMs,
    ...(o.pollMs ? { pollMs: o.pollMs } : {}),
    read: (after) => store.readRun(o.runId, o.tenant, after),
    idOf: (e) => e.seq,
    endsWith: (e) => TERMINAL_EVENT_TYPES.includes(e.type),
  });
}

/** Streams a tenant's events (filtered) after a global id until the watcher leaves. */
export function streamTenantEvents(
  store: RunEventStore,
  out: EventSink,
  o: { filter: RunEventFilter; afterId: number; heartbeatMs: number; pollMs?: number },
): Promise<void> {
  return follow(store, out, {
    tenant: o.filter.tenant,
    after: o.afterId,
    heartbeatMs: o.heartbeatMs,
    ...(o.pollMs ? { pollMs: o.pollMs } : {}),
    read: (after) => store.readTenant(o.filter, after),
    idOf: (e) => e.id,
    endsWith: () => false,
  });
}

interface Follow {
  tenant: string;
  after: number;
  heartbeatMs: number;
  pollMs?: number;
  read(after: number): Promise<StoredRunEvent[]>;
  idOf(e: StoredRunEvent): number;
  endsWith(e: StoredRunEvent): boolean;
}

/** Replays after the cursor, then follows: re-reads on each wake-up of the tenant (or the slow poll). */
async function follow(store: RunEventStore, out: EventSink, o: Follow): Promise<void> {
  let closed = false;
  let cursor = o.after;
  let wake: (() => void) | undefined;
  const nudge = () => wake?.();
  const unsubscribe = store.onNew((tenant) => {
    if (tenant === o.tenant || tenant === '') nudge();
  });
  const heartbeat = setInterval(() => out.write(': heartbeat\n\n'), o.heartbeatMs);
  out.onClose(() => {
    closed = true;
    nudge();
  });
  // The retry hint a browser's EventSource waits before reconnecting.
  out.write('retry: 2000\n\n');
  try {
    while (!closed) {
      // Armed before the read, so an append landing during it wakes the next round.
      let pending = false;
      const woken = new Promise<void>((resolve) => {
        wake = () => {
          pending = true;
          resolve();
        };
      });
      const events = await o.read(cursor);
      for (const e of events) {
        if (closed) return;
        const id = o.idOf(e);
        out.write(frame(e, id));
        cursor = id;
        if (o.endsWith(e)) return;
      }
      if (events.length > 0 || pending) continue;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([woken, new Promise<void>((r) => (timer = setTimeout(r, o.pollMs ?? 2_000)))]);
      clearTimeout(timer);
    }
  } finally {
    clearInterval(heartbeat);
    unsubscribe();
    if (!closed) out.end();
  }
}

/** Counts the gateway's open streams against its configured maximum. */
export class WatcherLimit {
  private open = 0;
  constructor(readonly max: number) {}

  /** Takes a place, or returns undefined when all are taken; the returned function gives it back (once). */
  take(): (() => void) | undefined {
    if (this.open >= this.max) return undefined;
    this.open++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.open--;
    };
  }

  get count(): number {
    return this.open;
  }
}
