import type { ResponseConfig } from '@asteasolutions/zod-to-openapi';
import type { Response, Router } from 'express';
import { ListRunsQuerySchema } from '../../contracts/run';
import { AgentListSchema, RunListSchema, RunViewSchema, StepsSchema } from '../api-schemas';
import type { Action } from '../authz';
import { callerOf, visibleRun, type Gateway } from '../context';
import type { VisibleRun } from '../runs/store';
import { runSteps, runView } from '../runs/view';
import { errors, ok, RunIdParams, type RouteTable } from './declare';

/** A read of one run: its path under `/v1/runs/{id}`, what the document says of it, and the role action it needs, if any. */
export interface OneRunRead {
  path: `/v1/runs/{id}${string}`;
  summary: string;
  ok: ResponseConfig;
  errors: Record<string, ResponseConfig>;
  action?: Action;
}

/**
 * Serves a GET of one run of the caller's tenant: the caller authorized for `read.action` first, then
 * the run looked up by its `{id}` (another tenant's is a 404, as a missing one), then `answer` responds.
 */
export function oneRunRoute(
  table: RouteTable,
  router: Router,
  gw: Gateway,
  read: OneRunRead,
  answer: (run: VisibleRun, runId: string, res: Response) => Promise<void>,
): void {
  table.route(
    router,
    {
      method: 'get',
      path: read.path,
      summary: read.summary,
      request: { params: RunIdParams },
      responses: { '200': read.ok, ...read.errors },
    },
    async ({ params: { id: runId } }, res) => {
      if (read.action) gw.authorize(callerOf(res), read.action);
      await answer(await visibleRun(gw, res, runId), runId, res);
    },
  );
}

/** Reading runs: the list, one run, its steps; and the agents a caller can dispatch. */
export function runsReadRoutes(table: RouteTable, router: Router, gw: Gateway): void {
  table.route(
    router,
    {
      method: 'get',
      path: '/v1/agents',
      summary: 'Agents and their versions',
      responses: { '200': ok('Agents', AgentListSchema), ...errors(401, 405, 429) },
    },
    (_input, res) => {
      res.json({ agents: gw.deps.agents.list() });
    },
  );

  table.route(
    router,
    {
      method: 'get',
      path: '/v1/runs',
      summary: 'List runs of the caller’s tenant',
      request: { query: ListRunsQuerySchema },
      responses: { '200': ok('A page of runs', RunListSchema), ...errors(400, 401, 405, 429, 503) },
    },
    async ({ query }, res) => {
      const page = await gw.runs.list(query, callerOf(res).principal.tenant);
      res.json({ runs: page.runs.map((r) => ({ ...r, links: gw.links(r.run_id) })), next_page_token: page.next_page_token });
    },
  );

  const runErrors = errors(401, 404, 405, 429, 503);
  const oneRun: OneRunRead = {
    path: '/v1/runs/{id}',
    summary: 'A run: state, steps, output',
    ok: ok('The run', RunViewSchema),
    errors: runErrors,
  };
  oneRunRoute(table, router, gw, oneRun, async (run, runId, res) => {
    res.json(await runView(gw.runs, run, gw.links(runId)));
  });
  const steps: OneRunRead = { path: '/v1/runs/{id}/steps', summary: 'A run’s steps', ok: ok('The steps', StepsSchema), errors: runErrors };
  oneRunRoute(table, router, gw, steps, async (run, runId, res) => {
    res.json({ run_id: runId, ...(await runSteps(gw.runs, run)) });
  });
}
