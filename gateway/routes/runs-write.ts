import type { Response, Router } from 'express';
import { z } from 'zod';
import { IdempotencyKeySchema, RunRequestSchema, TakeoverRequestSchema, WorkRequestSchema, type RunRequest } from '../../contracts/run';
import { RunSearchAttributes } from '../../contracts/search-attributes';
import { takeoverUpdate } from '../../workflows/messages';
import { CancelAcceptedSchema, RunAcceptedSchema, TakeoverResultSchema } from '../api-schemas';
import { callerOf, visibleRun, type Gateway } from '../context';
import { dispatchRun } from '../dispatch';
import { jsonBody } from '../middleware/json-body';
import { HttpProblem, validationProblem } from '../problem';
import { auditActed } from '../deferred-audit';
import { UPDATE_WAIT_MS, updateFailure, updateKey } from '../runs/outages';
import { updateProblem } from '../runs/errors';
import { statusWord } from '../runs/visibility';
import { errors, jsonRequest, ok, RunIdParams, type RouteTable } from './declare';

const IdempotencyHeader = z.object({ 'Idempotency-Key': IdempotencyKeySchema.optional() });

/** Starting and ending runs: dispatch (and the blueprint's alias), cancel, manual takeover. */
export function runsWriteRoutes(table: RouteTable, router: Router, gw: Gateway): void {
  const json = jsonBody(gw.deps.bodyLimit);
  const { agents, logger } = gw.deps;
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
        ...errors(400, 401, 403, 404, 405, 409, 413, 415, 429, 503),
      },
    },
    ...json,
    async (req, res) => {
      const parsed = RunRequestSchema.safeParse(req.body);
      if (!parsed.success) throw validationProblem(parsed.error);
      await answer(res, parsed.data, req.get('idempotency-key'));
    },
  );

  // The founding blueprint's endpoint, kept as an alias of POST /v1/runs. The agent is payload.agent,
  // else the first agent whose `intents` include a word of the intent; task_id is the idempotency key,
  // so a retried WorkRequest never starts a second run.
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
        ...errors(400, 401, 403, 404, 405, 409, 413, 415, 429, 503),
      },
    },
    ...json,
    async (req, res) => {
      const parsed = WorkRequestSchema.safeParse(req.body);
      if (!parsed.success) throw validationProblem(parsed.error);
      const { task_id, intent, payload } = parsed.data;
      const words = new Set(intent.toLowerCase().match(/[a-z0-9_-]+/g) ?? []);
      const agent =
        typeof payload.agent === 'string'
          ? payload.agent
          : agents.list().find((a) => agents.resolve(a.name).definition.intents.some((i) => words.has(i)))?.name;
      if (!agent) {
        throw new HttpProblem(404, 'unknown-agent', 'No agent for this intent', `No agent handles the intent ${JSON.stringify(intent)}.`, {
          available: agents.list().map((a) => ({ name: a.name, intents: agents.resolve(a.name).definition.intents })),
        });
      }
      const run = RunRequestSchema.safeParse({
        agent,
        task: typeof payload.task === 'string' ? payload.task : intent,
        context: payload.context ?? {},
        ...(payload.constraints !== undefined ? { constraints: payload.constraints } : {}),
        ...(payload.output_spec !== undefined ? { output_spec: payload.output_spec } : {}),
      });
      if (!run.success) throw validationProblem(run.error, { prefix: 'payload' });
      await answer(res, run.data, task_id);
    },
  );

  table.route(
    router,
    {
      method: 'post',
      path: '/v1/runs/{id}/cancel',
      summary: 'Cancel a run',
      request: { params: RunIdParams },
      responses: { '202': ok('Cancellation requested', CancelAcceptedSchema), ...errors(401, 403, 404, 405, 409, 429, 503) },
    },
    async (req, res) => {
      const runId = String(req.params.id);
      const caller = callerOf(res);
      const { handle, desc } = await visibleRun(gw, res, runId);
      gw.authorize(caller, 'run.cancel', { initiator: desc.typedSearchAttributes.get(RunSearchAttributes.initiator) });
      if (desc.status.name !== 'RUNNING') {
        throw new HttpProblem(409, 'run-not-active', 'Run not active', `Run ${runId} is already ${statusWord(desc.status.name)}.`);
      }
      await handle.cancel();
      // The cancellation is requested and cannot be taken back: answer it even if the store is down now
      // (its row is written once the store takes it), or the caller is told a cancel that happened failed.
      await auditActed(gw.deps, caller, {
        dedupe_key: `run.cancel:${caller.requestId}:${runId}`,
        action: 'run.cancel',
        outcome: 'requested',
        reason: 'cancelled through the API',
        run_id: runId,
      });
      logger.info('run cancel requested', { run_id: runId, by: caller.principal.subject });
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
    ...json,
    async (req, res) => {
      const runId = String(req.params.id);
      const parsed = TakeoverRequestSchema.safeParse(req.body);
      if (!parsed.success) throw validationProblem(parsed.error);
      const { handle } = await visibleRun(gw, res, runId);
      const caller = callerOf(res);
      gw.authorize(caller, 'run.takeover');
      const who = caller.principal;
      const args = { ...parsed.data, operator: { subject: who.subject, roles: who.roles } };
      const key = updateKey(args);
      try {
        // Bounded (no worker, no answer), and a retry of the same takeover is the same Update.
        const output = await gw.deps.client.withDeadline(Date.now() + UPDATE_WAIT_MS, () =>
          handle.executeUpdate(takeoverUpdate, { args: [args], updateId: `takeover-${key}` }),
        );
        // The run is completed: the answer says so even if the store is down now; the row (one per
        // takeover, however often it is retried) follows once the store takes it.
        await auditActed(gw.deps, caller, {
          dedupe_key: `run.takeover:${runId}:${key}`,
          action: 'run.takeover',
          outcome: 'completed',
          reason: parsed.data.reason,
          run_id: runId,
        });
        logger.info('run taken over', { run_id: runId, by: who.subject });
        res.json({ run_id: runId, status: 'completed', output });
      } catch (err) {
        throw (
          updateProblem(err, runId) ??
          (await updateFailure(
            gw.deps.client,
            err,
            'takeover',
            `GET /v1/runs/${runId} shows the run completed by the takeover, or still running`,
          ))
        );
      }
    },
  );
}
