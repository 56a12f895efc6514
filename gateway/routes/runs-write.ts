import type { Request, RequestHandler, Response, Router } from 'express';
import { z } from 'zod';
import { IdempotencyKeySchema, RunRequestSchema, TakeoverRequestSchema, WorkRequestSchema, type RunRequest } from '../../contracts/run';
import { CancelAcceptedSchema, RunAcceptedSchema, TakeoverResultSchema } from '../api-schemas';
import { callerOf, visibleRun, type Gateway } from '../context';
import { dispatchRun } from '../dispatch';
import { runRequestFor } from '../intents';
import { jsonBody } from '../middleware/json-body';
import { cancelRun, takeOverRun } from '../run-control';
import { errors, jsonRequest, ok, RunIdParams, type RouteTable } from './declare';

const IdempotencyHeader = z.object({ 'Idempotency-Key': IdempotencyKeySchema.optional() });

/** What both dispatch routes may answer besides their 200 and 202. */
const DISPATCH_ERRORS = errors(400, 401, 403, 404, 405, 409, 413, 415, 429, 503);

/** Starting and ending runs: dispatch (and the blueprint's alias), cancel, manual takeover. */
export function runsWriteRoutes(table: RouteTable, router: Router, gw: Gateway): void {
  const json = jsonBody(gw.deps.bodyLimit);
  dispatchRoutes(table, router, gw, json);
  runControlRoutes(table, router, gw, json);
}

/** POST /v1/runs and the blueprint's POST /gateway/dispatch: one dispatch (gateway/dispatch.ts) behind both. */
function dispatchRoutes(table: RouteTable, router: Router, gw: Gateway, json: RequestHandler[]): void {
  const answer = async (res: Response, body: RunRequest, key: string | undefined) => {
    const out = await dispatchRun(gw, callerOf(res), body, key);
    res.locals.runId = out.run_id;
    res.status(out.status).location(`/v1/runs/${out.run_id}`).json(out.body);
  };

  table.route(
    router,
    {
      method: 'post',
      path: '/v1/runs',
      summary: 'Dispatch a run',
      request: { headers: IdempotencyHeader, body: jsonRequest(RunRequestSchema) },
      responses: {
        '202': ok('Run started', RunAcceptedSchema),
        '200': ok('Same Idempotency-Key and body: the original run', RunAcceptedSchema),
        ...DISPATCH_ERRORS,
      },
    },
    ({ body }, res, req: Request) => answer(res, body, req.get('idempotency-key')),
    json,
  );

  // The founding blueprint's endpoint, kept as an alias of POST /v1/runs (gateway/intents.ts routes the
  // intent to an agent); task_id is the idempotency key, so a retried WorkRequest never starts a second run.
  table.route(
    router,
    {
      method: 'post',
      path: '/gateway/dispatch',
      summary: 'Blueprint WorkRequest (alias of POST /v1/runs; task_id is the idempotency key)',
      request: { body: jsonRequest(WorkRequestSchema) },
      responses: {
        '202': ok('Run started', RunAcceptedSchema),
        '200': ok('Same task_id and body: the original run', RunAcceptedSchema),
        ...DISPATCH_ERRORS,
      },
    },
    ({ body }, res) => answer(res, runRequestFor(gw.deps.agents, body), body.task_id),
    json,
  );
}

/** Cancel and manual takeover of a run of the caller's tenant (gateway/run-control.ts). */
function runControlRoutes(table: RouteTable, router: Router, gw: Gateway, json: RequestHandler[]): void {
  table.route(
    router,
    {
      method: 'post',
      path: '/v1/runs/{id}/cancel',
      summary: 'Cancel a run',
      request: { params: RunIdParams },
      responses: { '202': ok('Cancellation requested', CancelAcceptedSchema), ...errors(401, 403, 404, 405, 409, 429, 503) },
    },
    async ({ params: { id: runId } }, res) => {
      await cancelRun(gw, callerOf(res), await visibleRun(gw, res, runId));
      res.status(202).json({ run_id: runId, status: 'cancelling', links: gw.links(runId) });
    },
  );

  table.route(
    router,
    {
      method: 'post',
      path: '/v1/runs/{id}/takeover',
      summary: 'Complete a run by hand',
      request: { params: RunIdParams, body: jsonRequest(TakeoverRequestSchema) },
      responses: {
        '200': ok('Completed with a human-provided result', TakeoverResultSchema),
        ...errors(400, 401, 403, 404, 405, 409, 415, 429, 503),
      },
    },
    async ({ params: { id: runId }, body }, res) => {
      const output = await takeOverRun(gw, callerOf(res), await visibleRun(gw, res, runId), body);
      res.json({ run_id: runId, status: 'completed', output });
    },
    json,
  );
}
