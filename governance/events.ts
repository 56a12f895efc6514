// The run event log's store (issue 22, docs/events.md). The write side is the worker's (its sink and
// the plan activity append); the read side is the module interface the SSE routes and the webhook
// dispatcher consume:
//   - `readRun(run, tenant, afterSeq)`: one run's events after a per-run id, in seq order;
//   - `readTenant(filter, afterId)`: a tenant's events after a global id, filtered by run, agent, type;
//   - `onNew(listener)`: a wake-up whenever events may have been added (then read again after your last id);
//   - `hasSeq(...)`: whether a Last-Event-ID is one of a run's ids; `purge(...)`: retention.
// Notifications are hints, never data: a reader always re-reads the table after its last id, so a lost,
// duplicate or foreign wake-up (NOTIFY is per database, test schemas share it) costs a query, never an event.
import { EventEmitter } from 'node:events';
import { Client } from 'pg';
import type { NewRunEvent, RunEventFilter, StoredRunEvent } from '../contracts/events';
import type { Sql } from './store';

/** The PostgreSQL channel the run_events insert trigger notifies (migration 003). */
export const RUN_EVENTS_CHANNEL = 'acp_run_events';

/** Most rows one read returns; a reader that gets this many reads again after the last. */
export const MAX_READ = 500;

/** Stops a listener. */
export type Unsubscribe = () => void;

interface Row {
  id: string | number;
  run_id: string;
  seq: string | number;
  tenant: string;
  agent: string;
  type: string;
  at: string | Date;
  stored_at: string | Date;
  data: unknown;
}

const iso = (v: string | Date) => new Date(v).toISOString();

function toEvent(r: Row): StoredRunEvent {
  return {
    id: Number(r.id),
    run_id: r.run_id,
    seq: Number(r.seq),
    tenant: r.tenant,
    agent: r.agent,
    type: r.type as StoredRunEvent['type'],
    at: iso(r.at),
    stored_at: iso(r.stored_at),
    data: (typeof r.data === 'string' ? JSON.parse(r.data) : r.data) as Record<string, unknown>,
  };
}

const COLUMNS = 'id, run_id, seq, tenant, agent, type, at, stored_at, data';

/** `approval.*` → a LIKE prefix; anything else is an exact type. */
function typeClause(types: string[], param: (v: unknown) => string): string {
  const parts = types.map((t) =>
    t.endsWith('.*') ? `type LIKE ${param(`${t.slice(0, -1).replace(/[%_\\]/g, '\\$&')}%`)}` : `type = ${param(t)}`,
  );
  return `(${parts.join(' OR ')})`;
}

/** The run event log: append-only, deduplicated on (run_id, seq), read after an id, with wake-ups. */
export class RunEventStore {
  private readonly local = new EventEmitter();
  private stopListening: (() => Promise<void>) | undefined;

  constructor(private readonly sql: Pick<Sql, 'query'>) {
    // Every watcher subscribes; the bound on watchers is the gateway's (a configured maximum), not this.
    this.local.setMaxListeners(0);
  }

  /**
   * Writes events; ones already stored (same run and seq: a retried workflow task or activity) are
   * dropped. Returns how many were new. Wakes this process's readers; the trigger wakes other processes'.
   */
  async append(events: NewRunEvent[]): Promise<number> {
    if (events.length === 0) return 0;
    const params: unknown[] = [];
    const rows = events.map((e) => {
      params.push(e.run_id, e.seq, e.tenant, e.agent, e.type, e.at, JSON.stringify(e.data));
      const n = params.length;
      return `($${n - 6}, $${n - 5}, $${n - 4}, $${n - 3}, $${n - 2}, $${n - 1}, $${n}::jsonb)`;
    });
    const inserted = await this.sql.query(
      `INSERT INTO run_events (run_id, seq, tenant, agent, type, at, data) VALUES ${rows.join(', ')} ON CONFLICT (run_id, seq) DO NOTHING RETURNING id`,
      params,
    );
    if (inserted.length > 0) for (const t of new Set(events.map((e) => e.tenant))) this.local.emit('new', t);
    return inserted.length;
  }

  /** One run's events with seq greater than `afterSeq`, in seq order (tenant-checked: another tenant's run reads empty). */
  async readRun(runId: string, tenant: string, afterSeq = -1, limit = MAX_READ): Promise<StoredRunEvent[]> {
    const rows = await this.sql.query<Row>(
      `SELECT ${COLUMNS} FROM run_events WHERE run_id = $1 AND tenant = $2 AND seq > $3 ORDER BY seq LIMIT $4`,
      [runId, tenant, afterSeq, Math.min(limit, MAX_READ)],
    );
    return rows.map(toEvent);
  }

  /** A tenant's events with a global id greater than `afterId`, in id order, filtered by run, agent and type. */
  async readTenant(filter: RunEventFilter, afterId = 0, limit = MAX_READ): Promise<StoredRunEvent[]> {
    const params: unknown[] = [filter.tenant, afterId];
    const param = (v: unknown) => {
      params.push(v);
      return `$${params.length}`;
    };
    const where = ['tenant = $1', 'id > $2'];
    if (filter.run_id) where.push(`run_id = ${param(filter.run_id)}`);
    if (filter.agent) where.push(`agent = ${param(filter.agent)}`);
    if (filter.types?.length) where.push(typeClause(filter.types, param));
    const rows = await this.sql.query<Row>(
      `SELECT ${COLUMNS} FROM run_events WHERE ${where.join(' AND ')} ORDER BY id LIMIT ${param(Math.min(limit, MAX_READ))}`,
      params,
    );
    return rows.map(toEvent);
  }

  /** Whether `seq` is one of this run's stored ids (a Last-Event-ID check). */
  async hasSeq(runId: string, tenant: string, seq: number): Promise<boolean> {
    const rows = await this.sql.query('SELECT 1 FROM run_events WHERE run_id = $1 AND tenant = $2 AND seq = $3', [runId, tenant, seq]);
    return rows.length > 0;
  }

  /** Whether `id` is one of this tenant's stored global ids (a Last-Event-ID check for GET /v1/events). */
  async hasId(tenant: string, id: number): Promise<boolean> {
    const rows = await this.sql.query('SELECT 1 FROM run_events WHERE tenant = $1 AND id = $2', [tenant, id]);
    return rows.length > 0;
  }

  /** Deletes events stored before `before` (retention); returns how many. */
  async purge(before: Date): Promise<number> {
    const rows = await this.sql.query('DELETE FROM run_events WHERE stored_at < $1 RETURNING id', [before.toISOString()]);
    return rows.length;
  }

  /** Calls `listener(tenant)` whenever events of that tenant may have been added. */
  onNew(listener: (tenant: string) => void): Unsubscribe {
    this.local.on('new', listener);
    return () => this.local.off('new', listener);
  }

  /**
   * Also wakes readers on inserts by other processes: PostgreSQL LISTEN on a connection of its own.
   * Not needed with embedded PGlite, which one process alone can open (governance/open.ts), so every
   * insert is this process's and `append` wakes readers itself.
   */
  async listenPostgres(url: string, onError: (err: Error) => void = () => undefined): Promise<void> {
    const client = new Client({ connectionString: url, application_name: 'acp-run-events-listen' });
    client.on('error', onError);
    client.on('notification', (n) => {
      if (n.channel === RUN_EVENTS_CHANNEL) this.local.emit('new', n.payload ?? '');
    });
    await client.connect();
    await client.query(`LISTEN ${RUN_EVENTS_CHANNEL}`);
    this.stopListening = () => client.end();
  }

  /** Stops listening (the store's connections are the governance store's to close). */
  async close(): Promise<void> {
    this.local.removeAllListeners();
    await this.stopListening?.();
    this.stopListening = undefined;
  }
}

const shared = new WeakMap<object, RunEventStore>();

/**
 * The one run event log of a set of store connections: the worker and the gateway of one process
 * (npm run dev, the tests) get the same instance, so an append wakes the gateway's watchers at once —
 * the only wake-up there is with embedded PGlite.
 */
export function runEventsOf(store: { sql: Pick<Sql, 'query'> }): RunEventStore {
  let events = shared.get(store.sql);
  if (!events) {
    events = new RunEventStore(store.sql);
    shared.set(store.sql, events);
  }
  return events;
}
