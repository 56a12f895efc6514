import type { Router } from 'express';
import { z } from 'zod';
import { callerOf, visibleRun, type Gateway } from '../context';
import { HttpProblem } from '../problem';
import { streamRunEvents, WatcherLimit } from '../runs/event-stream';
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

const badId = (value: string) =>
  new HttpProblem(400, 'invalid-last-event-id', 'Last-Event-ID is not an id of this run', `"${value}" is not the id of an event of this run.`);

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
      if (!store) throw new HttpProblem(503, 'events-unavailable', 'Event streams are not configured', 'This gateway has no run event log.');
      await visibleRun(gw, res, runId);
      const tenant = callerOf(res).principal.tenant;
      const given = req.get('last-event-id') ?? query.after;
      let afterSeq = -1;
      if (given !== undefined) {
        if (!/^\d{1,15}$/.test(given.trim())) throw badId(given);
        afterSeq = Number(given.trim());
        if (!(await store.hasSeq(runId, tenant, afterSeq))) throw badId(given);
      }
      const release = watchers.take();
      if (!release) {
        res.set('Retry-After', String(RETRY_AFTER_SECONDS));
        throw new HttpProblem(503, 'too-many-watchers', 'Too many watchers', `This gateway serves at most ${watchers.max} event streams at once.`);
      }
      res.status(200).set({
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-cache, no-transform',
        Connection: 'keep-alive',
        // nginx and similar proxies buffer responses unless told not to.
        'X-Accel-Buffering': 'no',
      });
      res.flushHeaders();
      req.socket.setTimeout(0);
      try {
        await streamRunEvents(
          store,
          { write: (c) => res.write(c), end: () => res.end(), onClose: (l) => res.once('close', l) },
          { runId, tenant, afterSeq, heartbeatMs: limits.heartbeatSeconds * 1000 },
        );
      } finally {
        release();
      }
    },
  );
}
