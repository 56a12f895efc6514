import type { Router } from 'express';
import { tenantBudgetFor } from '../../policies/engine';
import { nanoUsd } from '../../shared/cost';
import {
  AuditListSchema,
  AuditQuerySchema,
  BudgetQuerySchema,
  BudgetStatusSchema,
  PolicyReloadedSchema,
  PolicyStatusSchema,
} from '../api-schemas';
import { callerOf, type Gateway } from '../context';
import { noPolicy, reloadPolicy } from '../policy-reload';
import { HttpProblem } from '../problem';
import { errors, ok, problem, type RouteTable } from './declare';
import { oneRunRoute, type OneRunRead } from './runs-read';

const noLedger = () => new HttpProblem(404, 'not-found', 'Not found', 'This gateway has no audit ledger configured.');

/** The audit ledger, the tenant's budget, and the policy in force (read and reload). */
export function governanceRoutes(table: RouteTable, router: Router, gw: Gateway): void {
  ledgerRoutes(table, router, gw);
  policyRoutes(table, router, gw);
}

/** The tenant's audit ledger, a run's rows in it, and the tenant's model spend against its budget. */
function ledgerRoutes(table: RouteTable, router: Router, gw: Gateway): void {
  table.route(
    router,
    {
      method: 'get',
      path: '/v1/audit',
      summary: 'The tenant’s audit ledger, newest first (roles auditor, admin)',
      request: { query: AuditQuerySchema },
      responses: { '200': ok('Audit entries', AuditListSchema), ...errors(400, 401, 403, 404, 405, 429) },
    },
    async ({ query }, res) => {
      const caller = callerOf(res);
      gw.authorize(caller, 'audit.read');
      if (!gw.deps.audit) throw noLedger();
      res.json({ entries: await gw.deps.audit.list({ ...query, tenant: caller.principal.tenant }) });
    },
  );

  const runAudit: OneRunRead = {
    path: '/v1/runs/{id}/audit',
    summary: 'A run’s audit entries (roles auditor, admin)',
    ok: ok('Audit entries', AuditListSchema),
    errors: errors(401, 403, 404, 405, 429),
    action: 'audit.read',
  };
  oneRunRoute(table, router, gw, runAudit, async (_run, runId, res) => {
    if (!gw.deps.audit) throw noLedger();
    res.json({ entries: await gw.deps.audit.list({ tenant: callerOf(res).principal.tenant, run_id: runId }) });
  });

  // The caller's tenant's model spend for a UTC day (today by default) against the policy's limit.
  table.route(
    router,
    {
      method: 'get',
      path: '/v1/budget',
      summary: 'The caller’s tenant’s model spend for a UTC day (default today) against its daily budget',
      request: { query: BudgetQuerySchema },
      responses: { '200': ok('Budget status', BudgetStatusSchema), ...errors(400, 401, 404, 405, 429) },
    },
    async ({ query }, res) => {
      const caller = callerOf(res);
      gw.authorize(caller, 'budget.read');
      if (!gw.deps.audit) throw new HttpProblem(404, 'not-found', 'Not found', 'This gateway has no governance store configured.');
      const tenant = caller.principal.tenant;
      const day = await gw.deps.audit.budgetDay(tenant, query.day ?? new Date().toISOString().slice(0, 10));
      const limit = tenantBudgetFor(gw.policies?.current(), tenant) ?? null;
      const remaining = limit?.daily_cost_usd === undefined ? null : Math.max(0, nanoUsd(limit.daily_cost_usd - day.committed_usd));
      res.json({ ...day, limit, remaining_usd: remaining });
    },
  );
}

/** The policy in force: its status, and reloading it from its folder. */
function policyRoutes(table: RouteTable, router: Router, gw: Gateway): void {
  table.route(
    router,
    {
      method: 'get',
      path: '/v1/policy',
      summary: 'The policy in force: hash, when loaded, files, the last failed reload (roles auditor, admin)',
      responses: { '200': ok('Policy status', PolicyStatusSchema), ...errors(401, 403, 404, 405, 429) },
    },
    (_input, res) => {
      gw.authorize(callerOf(res), 'policy.read');
      if (!gw.policies) throw noPolicy();
      res.json(gw.policies.status());
    },
  );

  // Re-reads the policies folder. Runs already started keep the snapshot in their input; new dispatches
  // are decided by, and new runs started with, the new policy. A bad file changes nothing (422).
  table.route(
    router,
    {
      method: 'post',
      path: '/v1/policy/reload',
      summary: 'Re-read the policies folder (role admin); runs already started keep their snapshot',
      responses: {
        '200': ok('The new policy is in force', PolicyReloadedSchema),
        '422': problem('A policy file is invalid (file:line in detail); the previous policy stays in force'),
        ...errors(401, 403, 404, 405, 429),
      },
    },
    async (_input, res) => {
      res.json(await reloadPolicy(gw, callerOf(res)));
    },
  );
}
