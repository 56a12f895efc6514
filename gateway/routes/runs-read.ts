import type { Router } from 'express';
import { ListRunsQuerySchema } from '../../contracts/run';
import { AgentListSchema, RunListSchema, RunViewSchema, StepsSchema } from '../api-schemas';
import { callerOf, visibleRun, type Gateway } from '../context';
import { runSteps, runView } from '../runs/view';
import { errors, ok, RunIdParams, type RouteTable } from './declare';

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

  table.route(
    router,
    {
      method: 'get',
      path: '/v1/runs/{id}',
      summary: 'A run: state, steps, output',
      request: { params: RunIdParams },
      responses: { '200': ok('The run', RunViewSchema), ...errors(401, 404, 405, 429, 503) },
    },
    async ({ params: { id: runId } }, res) => {
      const run = await visibleRun(gw, res, runId);
      res.json(await runView(gw.runs, run, gw.links(runId)));
    },
  );

  table.route(
    router,
    {
      method: 'get',
      path: '/v1/runs/{id}/steps',
      summary: 'A run’s steps',
      request: { params: RunIdParams },
      responses: { '200': ok('The steps', StepsSchema), ...errors(401, 404, 405, 429, 503) },
    },
    async ({ params: { id: runId } }, res) => {
      const run = await visibleRun(gw, res, runId);
      res.json({ run_id: runId, ...(await runSteps(gw.runs, run)) });
    },
  );
}
