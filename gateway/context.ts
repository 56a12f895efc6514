import { randomUUID } from 'node:crypto';
import type { Response } from 'express';
import type { AuditEntry } from '../contracts/governance';
import type { Policy } from '../contracts/policy';
import { GatewayMetrics } from '../observability/metrics';
import { ReloadablePolicy } from '../policies/reloadable';
import { RoleAuthorizer, type Action, type Authorizer, type Resource } from './authz';
import type { GatewayDeps } from './deps';
import { principal, requestIds } from './locals';
import type { Principal } from '../contracts/principal';
import { HttpProblem } from './problem';
import { PollerWatch } from './runs/pollers';
import { RunStarter } from './runs/start';
import { RunStore, type VisibleRun } from './runs/store';
import type { RunLinks } from './runs/view';
import { RUN_ID } from '../contracts/vocabulary';

/** Who is asking, and under which request and trace ids: what audit rows and runs carry. */
export interface Caller {
  principal: Principal;
  requestId: string;
  traceId: string;
}

/** The caller of this request, as the middleware found it. */
export const callerOf = (res: Response): Caller => ({ principal: principal(res), ...requestIds(res) });

/** What every route shares: the dependencies, resolved once, and the checks and records they make. */
export class Gateway {
  readonly runs: RunStore;
  /** Starts runs within the bound of starts in flight. */
  readonly starts: RunStarter;
  /** Whether a worker polls the task queue runs start on. */
  readonly pollers: PollerWatch;
  readonly authorizer: Authorizer;
  readonly newRunId: () => string;
  /** The live policy, read per request (never captured at start), so a reload applies to the next request. */
  readonly policies?: ReloadablePolicy;

  readonly metrics: GatewayMetrics;

  constructor(readonly deps: GatewayDeps) {
    this.metrics = deps.metrics ?? new GatewayMetrics();
    this.runs = new RunStore(deps.client, deps.queryTimeoutMs);
    this.starts = new RunStarter(deps.client, deps.maxStartsInFlight);
    this.pollers = new PollerWatch(deps.client, deps.taskQueue, deps.logger);
    this.authorizer = deps.authorizer ?? new RoleAuthorizer();
    this.newRunId = deps.newRunId ?? (() => `run-${randomUUID()}`);
    const policy: Policy | ReloadablePolicy | undefined = deps.policy;
    this.policies = policy === undefined || policy instanceof ReloadablePolicy ? policy : ReloadablePolicy.fixed(policy);
  }

  /** Throws a 403 problem with the reason when the caller may not do this. */
  authorize(caller: Caller, action: Action, resource?: Resource): void {
    const decision = this.authorizer.decide(caller.principal, action, resource);
    this.metrics.policyDecisions.inc({ action, effect: decision.allowed ? 'allow' : 'deny', rule: decision.rule ?? 'none' });
    if (!decision.allowed)
      throw new HttpProblem(403, 'forbidden', 'Forbidden', decision.reason, decision.rule ? { rule: decision.rule } : {});
  }

  /** Appends an audit row for the caller (tenant, subject, request and trace id); without a ledger, nothing. */
  async audit(caller: Caller, e: Omit<AuditEntry, 'tenant' | 'principal' | 'request_id'>): Promise<void> {
    if (!this.deps.audit) return;
    await this.deps.audit.append({
      ...e,
      tenant: caller.principal.tenant,
      principal: caller.principal.subject,
      request_id: caller.requestId,
      trace_id: caller.traceId,
    });
  }

  /** The run's own links, and its page in the Temporal Web UI when there is one. */
  links(runId: string): RunLinks {
    const ui = this.deps.temporalUiUrl
      ? `${this.deps.temporalUiUrl}/namespaces/${encodeURIComponent(this.runs.namespace)}/workflows/${encodeURIComponent(runId)}`
      : undefined;
    return { self: `/v1/runs/${runId}`, steps: `/v1/runs/${runId}/steps`, ...(ui ? { temporal_ui: ui } : {}) };
  }
}

/** The run `runId` of the caller's tenant (404 otherwise); the access log names it once the id is well-formed. */
export function visibleRun(gw: Gateway, res: Response, runId: string): Promise<VisibleRun> {
  if (RUN_ID.test(runId)) res.locals.runId = runId;
  return gw.runs.visible(runId, principal(res).tenant);
}
