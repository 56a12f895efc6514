import type { Router } from 'express';
import { z } from 'zod';
import { ApprovalDecisionRequestSchema } from '../../contracts/run';
import { ApprovalListSchema, DecisionResultSchema } from '../api-schemas';
import { decideApproval, pendingApprovalsFor } from '../approval-decisions';
import { callerOf, visibleRun, type Gateway } from '../context';
import { jsonBody } from '../middleware/json-body';
import { errors, jsonRequest, ok, RunIdParams, type RouteTable } from './declare';

/** The approvals a caller may decide, and deciding one (gateway/approval-decisions.ts does the work). */
export function approvalRoutes(table: RouteTable, router: Router, gw: Gateway): void {
  table.route(
    router,
    {
      method: 'get',
      path: '/v1/approvals',
      summary: 'Pending approvals the caller may decide',
      responses: { '200': ok('Approvals', ApprovalListSchema), ...errors(401, 405, 429, 503) },
    },
    async (_input, res) => {
      res.json({ approvals: await pendingApprovalsFor(gw, callerOf(res).principal) });
    },
  );

  table.route(
    router,
    {
      method: 'post',
      path: '/v1/runs/{id}/approvals/{approval_id}',
      summary: 'Decide a pending approval (edited_args count only with approve; a reject ignores them)',
      request: { params: RunIdParams.extend({ approval_id: z.string() }), body: jsonRequest(ApprovalDecisionRequestSchema) },
      responses: { '200': ok('Decision recorded', DecisionResultSchema), ...errors(400, 401, 403, 404, 405, 409, 415, 429, 503) },
    },
    async ({ params, body }, res) => {
      const run = await visibleRun(gw, res, params.id);
      res.json(await decideApproval(gw, callerOf(res), run, params.approval_id, body));
    },
    jsonBody(gw.deps.bodyLimit),
  );
}
