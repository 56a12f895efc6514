import { temporal } from '@temporalio/proto';
import type { z } from 'zod';
import type { ListRunsQuery, RunStatus } from '../../contracts/run';
import { AGENT_RUN } from '../../shared/run-start';
import type { RunSummarySchema } from '../api-schemas';

// Visibility queries over runs and what their raw records mean. No Express here.

/** The API's run status in Temporal's ExecutionStatus words, for list filters. */
const TEMPORAL_STATUS: Record<RunStatus, string> = {
  running: 'Running',
  completed: 'Completed',
  failed: 'Failed',
  cancelled: 'Canceled',
  terminated: 'Terminated',
  timed_out: 'TimedOut',
};

const STATUS: Record<string, RunStatus> = {
  RUNNING: 'running',
  COMPLETED: 'completed',
  FAILED: 'failed',
  CANCELLED: 'cancelled',
  TERMINATED: 'terminated',
  TIMED_OUT: 'timed_out',
  CONTINUED_AS_NEW: 'running',
};

/** The API's status of a run from Temporal's status name (a run that continued-as-new is running). */
export const runStatus = (name: string): RunStatus => STATUS[name] ?? 'running';

/** The API's status, or Temporal's name where the API has none (for messages). */
export const statusWord = (name: string): string => STATUS[name] ?? name;

/** The visibility query of `GET /v1/runs` within one tenant. */
export function listQuery(q: ListRunsQuery, tenant: string): string {
  const clauses = [`WorkflowType = "${AGENT_RUN}"`, `Tenant = ${JSON.stringify(tenant)}`];
  if (q.agent) clauses.push(`AgentName = ${JSON.stringify(q.agent)}`);
  if (q.version) clauses.push(`AgentVersion = ${JSON.stringify(q.version)}`);
  if (q.state) clauses.push(`RunState = ${JSON.stringify(q.state)}`);
  if (q.initiator) clauses.push(`Initiator = ${JSON.stringify(q.initiator)}`);
  if (q.status) clauses.push(`ExecutionStatus = ${JSON.stringify(TEMPORAL_STATUS[q.status])}`);
  if (q.awaiting_approval === 'true') clauses.push('RunState = "HumanApproval" AND ExecutionStatus = "Running"');
  if (q.awaiting_approval === 'false') clauses.push('RunState != "HumanApproval"');
  if (q.started_after) clauses.push(`StartTime >= ${JSON.stringify(q.started_after)}`);
  if (q.started_before) clauses.push(`StartTime < ${JSON.stringify(q.started_before)}`);
  return clauses.join(' AND ');
}

/** Running runs of a tenant with an approval that any of `keys` (`role:…`, `subject:…`) may decide. */
export function pendingApprovalsQuery(keys: string[], tenant: string): string {
  return `PendingApprovers IN (${keys.map((k) => JSON.stringify(k)).join(', ')}) AND Tenant = ${JSON.stringify(tenant)} AND ExecutionStatus = "Running"`;
}

/** The tenant's runs, for quotas: all of them, or those started since `since`, or those running. */
export function tenantRunsQuery(tenant: string, only: { running: true } | { since: Date }): string {
  const base = `WorkflowType = "${AGENT_RUN}" AND Tenant = ${JSON.stringify(tenant)}`;
  return 'running' in only ? `${base} AND ExecutionStatus = "Running"` : `${base} AND StartTime >= "${only.since.toISOString()}"`;
}

/** A Keyword search attribute value from a raw visibility record (JSON-encoded payload). */
function keyword(payload: { data?: Uint8Array | null } | undefined): string | undefined {
  if (!payload?.data) return undefined;
  const value: unknown = JSON.parse(Buffer.from(payload.data).toString('utf8'));
  return typeof value === 'string' ? value : undefined;
}

function isoOf(ts: { seconds?: unknown; nanos?: number | null } | null | undefined): string | undefined {
  return ts ? new Date(Number(ts.seconds ?? 0) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6)).toISOString() : undefined;
}

/** One run of a list page, before links are added. */
export type RunSummary = Omit<z.infer<typeof RunSummarySchema>, 'links'>;

/** A raw visibility record as the API lists it. */
export function summaryOf(e: temporal.api.workflow.v1.IWorkflowExecutionInfo): RunSummary {
  const sa = e.searchAttributes?.indexedFields ?? {};
  return {
    run_id: e.execution?.workflowId ?? '',
    agent: { name: keyword(sa.AgentName), version: keyword(sa.AgentVersion) },
    status: runStatus(temporal.api.enums.v1.WorkflowExecutionStatus[e.status ?? 0]?.replace('WORKFLOW_EXECUTION_STATUS_', '') ?? ''),
    state: keyword(sa.RunState),
    initiator: keyword(sa.Initiator),
    started_at: isoOf(e.startTime),
    closed_at: isoOf(e.closeTime),
  };
}
