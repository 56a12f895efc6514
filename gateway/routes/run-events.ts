import type { Request, Response, Router } from 'express';
import { z } from 'zod';
import { callerOf, visibleRun, type Gateway } from '../context';
import { HttpProblem } from '../problem';
import { streamRunEvents, streamTenantEvents, WatcherLimit, type EventSink } from '../runs/event-stream';
import { errors, RunIdParams, type RouteTable } from './declare';

const EventsQuerySchema = z.object({
  after: z.string().optional().describe('Resume after this event id (what `Last-Event-ID` carries; the header wins).'),
});

const EventsHeadersSchema = z.object({
  'last-event-id': z.string().optional().describe('The id of the last event the client received: the stream resumes after it.'),
});

/** The default limits when the entry point passes none (tests, embedders). */
const DEFAULTS = { heartbeatSeconds: 15, maxWatchers: 1000 };

/** How long a refused watcher is told to wait. */
const RETRY_AFTER_SECONDS = 5;

const badId = (value: string, of = 'this run') =>
  new HttpProblem(400, 'invalid-last-event-id', `Last-Event-ID is not an id of ${of}`, `"${value}" is not the id of an event of ${of}.`);

/** A place among the gateway's watchers, or the 503 that says to come back. */
function place(watchers: WatcherLimit, res: Response): () => void {
  const release = watchers.take();
  if (release) return release;
  res.set('Retry-After', String(RETRY_AFTER_SECONDS));
  throw new HttpProblem(
    503,
    'too-many-watchers',
    'Too many watchers',
    `This gateway serves at most ${watchers.max} event streams at once.`,
  );
}

/** Starts the event-stream response and hands its writes to the streamer. */
function openStream(req: Request, res: Response): EventSink {
  res.status(200).set({
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    Connection: 'keep-alive',
    // nginx and similar proxies buffer responses unless told not to.
    'X-Accel-Buffering': 'no',
  });
  res.flushHeaders();
  req.socket.setTimeout(0);
  return { write: (c) => res.write(c), end: () => res.end(), onClose: (l) => res.once('close', l) };
}

/** `GET /v1/runs/{id}/events`: a run's events as Server-Sent Events, resumable with Last-Event-ID (docs/events.md). */
export function runEventRoutes(table: RouteTable, router: Router, gw: Gateway): void {
  const limits = { ...DEFAULTS, ...gw.deps.events };
  const watchers = new WatcherLimit(limits.maxWatchers);
  table.route(
    router,
    {
      method: 'get',
      path: '/v1/runs/{id}/events',
      summary: 'A run’s events as they happen (Server-Sent Events)',
      description:
        'Replays the run’s events after `Last-Event-ID` (or `?after=`), then follows live; a comment line every few seconds keeps the ' +
        'connection open; the stream ends after the terminal event (run.completed, run.failed, run.cancelled, run.taken_over).',
      request: { params: RunIdParams, query: EventsQuerySchema, headers: EventsHeadersSchema },
      responses: {
        '200': {
          description: 'An event stream: `id:` is the event’s per-run id, `event:` its type, `data:` the event as JSON',
          content: { 'text/event-stream': { schema: z.string() } },
        },
        ...errors(400, 401, 404, 405, 429, 503),
      },
    },
    async ({ params: { id: runId }, query }, res, req) => {
      const store = gw.deps.runEvents;
      if (!store)
        throw new HttpProblem(503, 'events-unavailable', 'Event streams are not configured', 'This gateway has no run event log.');
      await visibleRun(gw, res, runId);
      const tenant = callerOf(res).principal.tenant;
      const given = req.get('last-event-id') ?? query.after;
      let afterSeq = -1;
      if (given !== undefined) {
        if (!/^\d{1,15}$/.test(given.trim())) throw badId(given);
        afterSeq = Number(given.trim());
        if (!(await store.hasSeq(runId, tenant, afterSeq))) throw badId(given);
      }
      const release = place(watchers, res);
      try {
        await streamRunEvents(store, openStream(req, res), { runId, tenant, afterSeq, heartbeatMs: limits.heartbeatSeconds * 1000 });
      } finally {
        release();
      }
    },
  );
  tenantEventsRoute(table, router, gw, watchers, limits.heartbeatSeconds);
}

const TenantEventsQuerySchema = z.object({
  after: EventsQuerySchema.shape.after,
  agent: z.string().min(1).optional().describe('Only this agent’s runs.'),
  run_id: z.string().min(1).optional().describe('Only this run.'),
  types: z
    .string()
    .regex(/^[a-z_.*]+(,[a-z_.*]+)*$/, 'a comma-separated list of event types or prefixes like approval.*')
    .optional()
    .describe('Comma-separated event types, or prefixes ending in `.*` (`approval.*`).'),
});

/** Roles that may watch every event of their tenant; an approver alone sees approval.* only. */
const WATCH_ALL = ['dispatcher', 'operator', 'admin'];

/** `GET /v1/events`: the caller's tenant's events across runs, resumable with Last-Event-ID (the global id). */
function tenantEventsRoute(table: RouteTable, router: Router, gw: Gateway, watchers: WatcherLimit, heartbeatSeconds: number): void {
  table.route(
    router,
    {
      method: 'get',
      path: '/v1/events',
      summary: 'The tenant’s run events as they happen (Server-Sent Events)',
      description:
        'Events of every run of the caller’s tenant, filtered by agent, run and type; `id:` is the tenant-wide event id that ' +
        '`Last-Event-ID` resumes after. A caller with only the approver role sees `approval.*` events only.',
      request: { query: TenantEventsQuerySchema, headers: EventsHeadersSchema },
      responses: {
        '200': { description: 'An event stream (never ends by itself)', content: { 'text/event-stream': { schema: z.string() } } },
        ...errors(400, 401, 405, 429, 503),
      },
    },
    async ({ query }, res, req) => {
      const store = gw.deps.runEvents;
      if (!store)
        throw new HttpProblem(503, 'events-unavailable', 'Event streams are not configured', 'This gateway has no run event log.');
      const { principal } = callerOf(res);
      let types = query.types?.split(',');
      if (!principal.roles.some((r) => WATCH_ALL.includes(r))) {
        if (types?.some((t) => !t.startsWith('approval.'))) {
          throw new HttpProblem(403, 'forbidden', 'Forbidden', 'An approver may watch approval.* events only.');
        }
        types = types ?? ['approval.*'];
      }
      const given = req.get('last-event-id') ?? query.after;
      let afterId = 0;
      if (given !== undefined) {
        if (!/^\d{1,15}$/.test(given.trim())) throw badId(given, 'this tenant');
        afterId = Number(given.trim());
        if (!(await store.hasId(principal.tenant, afterId))) throw badId(given, 'this tenant');
      }
      const release = place(watchers, res);
      const filter = {
        tenant: principal.tenant,
        ...(query.agent ? { agent: query.agent } : {}),
        ...(query.run_id ? { run_id: query.run_id } : {}),
        ...(types ? { types } : {}),
      };
      try {
        await streamTenantEvents(store, openStream(req, res), { filter, afterId, heartbeatMs: heartbeatSeconds * 1000 });
      } finally {
        release();
      }
    },
  );
}
