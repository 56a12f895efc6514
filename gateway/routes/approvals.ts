import type { Router } from 'express';
import { z } from 'zod';
import { ApprovalDecisionRequestSchema, type Approval } from '../../contracts/run';
import { currentApprovers, decidersOf, mayDecide } from '../../workflows/approvals';
import { approvalUpdate } from '../../workflows/messages';
import { ApprovalListSchema, DecisionResultSchema } from '../api-schemas';
import { callerOf, visibleRun, type Gateway } from '../context';
import { jsonBody } from '../middleware/json-body';
import { validationProblem } from '../problem';
import { auditActed } from '../deferred-audit';
import { UPDATE_WAIT_MS, updateFailure } from '../runs/outages';
import { updateProblem } from '../runs/errors';
import { mapLimit } from '../runs/pool';
import { errors, jsonRequest, ok, RunIdParams, type RouteTable } from './declare';

/** Runs listed by `GET /v1/approvals` at most, and how many of them are queried at once. */
const MAX_RUNS = 100;
const QUERIES_AT_ONCE = 8;

/** The approvals a caller may decide, and deciding one. */
export function approvalRoutes(table: RouteTable, router: Router, gw: Gateway): void {
  const { tools, logger } = gw.deps;

  table.route(
    router,
    {
      method: 'get',
      path: '/v1/approvals',
      summary: 'Pending approvals the caller may decide',
      responses: { '200': ok('Approvals', ApprovalListSchema), ...errors(401, 405, 429, 503) },
    },
    async (_req, res) => {
      const who = callerOf(res).principal;
      const keys = [...who.roles.map((r) => `role:${r}`), `subject:${who.subject}`];
      const ids = await gw.runs.awaitingApproval(keys, who.tenant, MAX_RUNS);
      const perRun = await mapLimit(ids, QUERIES_AT_ONCE, async (runId) => {
        const answer = await gw.runs.tryQueryState(gw.runs.client.workflow.getHandle(runId));
        if ('failure' in answer) {
          // Closed or unreachable since the listing: it will not take a decision now, so it is left out,
          // but a failure other than a missing worker is a fault someone should see.
          if (answer.failure.kind === 'failed')
            logger.warn('approvals: state query failed', { run_id: runId, error: answer.failure.message });
          return [];
        }
        const { state } = answer;
        // Votes count from the last edit on (an edit resets earlier approvals), as the run counts them.
        const mine = (a: Approval) => a.status === 'pending' && mayDecide(who, decidersOf(a)) && !currentApprovers(a).has(who.subject);
        return state.approvals
          .filter(mine)
          .map((a) => ({ run_id: runId, agent: state.agent, ...a, links: { decide: `/v1/runs/${runId}/approvals/${a.id}` } }));
      });
      res.json({ approvals: perRun.flat() });
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
    ...jsonBody(gw.deps.bodyLimit),
    async (req, res) => {
      const runId = String(req.params.id);
      const approvalId = String(req.params.approval_id);
      const parsed = ApprovalDecisionRequestSchema.safeParse(req.body);
      if (!parsed.success) throw validationProblem(parsed.error);
      const decision = parsed.data;
      const { handle } = await visibleRun(gw, res, runId);
      const caller = callerOf(res);
      const who = caller.principal;
      if (decision.edited_args) {
        // Edited arguments must be valid for the tool before they reach the run.
        const state = await gw.runs.queryState(handle);
        const approval = state.approvals.find((a) => a.id === approvalId);
        const tool = approval?.tool ? tools.get(approval.tool) : undefined;
        if (tool) {
          const checked = tool.input.safeParse(decision.edited_args);
          if (!checked.success)
            throw validationProblem(checked.error, { prefix: 'edited_args', title: `edited_args are invalid for ${tool.name}` });
        }
      }
      try {
        const args = {
          ...decision,
          approval_id: approvalId,
          approver: { subject: who.subject, roles: who.roles },
          request_id: caller.requestId,
          trace_id: caller.traceId,
        };
        // Bounded (no worker, no answer). A retry of a decision that was applied meanwhile is refused as a
        // duplicate vote by the run, so it cannot count twice.
        const { recorded, ...result } = await gw.deps.client.withDeadline(Date.now() + UPDATE_WAIT_MS, () =>
          handle.executeUpdate(approvalUpdate, { args: [args] }),
        );
        // The run writes the decision's row itself when it accepts it (so a decision that takes effect has
        // one whatever this request was told). Runs started before it did record nothing: their row is the
        // gateway's, written even if the store is down now.
        if (!recorded) {
          await auditActed(gw.deps, caller, {
            dedupe_key: `approval.decide:${caller.requestId}:${approvalId}`,
            action: 'approval.decide',
            outcome: decision.decision,
            reason: decision.comment ?? decision.decision,
            run_id: runId,
            details: { approval_id: approvalId, status: result.status, edited: Boolean(decision.edited_args) },
          });
        }
        logger.info('approval decision', { run_id: runId, approval_id: approvalId, by: who.subject, decision: decision.decision });
        res.json({ run_id: runId, ...result });
      } catch (err) {
        const problem = updateProblem(err, runId);
        // Refused by the run (or the run has ended): nothing changed, and the refusal is the gateway's to
        // record. An unknown outcome is not recorded here: if the decision takes effect, the run records it.
        if (problem) {
          await gw.audit(caller, {
            action: 'approval.decide',
            outcome: 'refused',
            reason: problem.detail,
            run_id: runId,
            details: { approval_id: approvalId },
          });
          throw problem;
        }
        throw await updateFailure(
          gw.deps.client,
          err,
          'decision',
          `GET /v1/runs/${runId} lists the approval's decisions, and GET /v1/runs/${runId}/audit shows its approval.decide row once the run has taken it`,
        );
      }
    },
  );
}
