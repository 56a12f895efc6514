import { createHash } from 'node:crypto';
import type { WorkflowExecutionDescription } from '@temporalio/client';
import { UnknownAgentError } from '../agents/registry';
import type { AgentRunInput, RunRequest, RunStatus } from '../contracts/run';
import { RunSearchAttributes } from '../contracts/search-attributes';
import { IDEMPOTENCY_KEY } from '../contracts/vocabulary';
import { canonicalJson } from '../shared/canonical';
import { addSensitiveValues, restrictedContextValues } from '../observability/redact';
import { withRunContext } from '../observability/tracing';
import type { agentRun } from '../workflows/agent-run';
import type { Caller, Gateway } from './context';
import type { RunLinks } from './runs/view';
import { checkContext, checkOutputSpecUsable, effectiveLabels } from './labels';
import { checkQuotas } from './middleware/quotas';
import { HttpProblem } from './problem';
import { auditActed } from './deferred-audit';
import { AGENT_RUN, runStatus } from './runs/visibility';

const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');

/** What a dispatch answers: 202 for a new run, 200 for a retry of one already started. */
export interface Dispatched {
  status: 200 | 202;
  run_id: string;
  body: {
    run_id: string;
    status: RunStatus;
    agent: { name: string; version: string };
    links: RunLinks;
    replayed?: true;
    /** What the caller should know about the run's prospects (no worker polls its task queue). */
    warnings?: string[];
  };
}

/** Starts a run for a validated request: the one dispatch path behind /v1/runs and /gateway/dispatch. */
export async function dispatchRun(gw: Gateway, caller: Caller, body: RunRequest, idempotencyKey: string | undefined): Promise<Dispatched> {
  const { deps, runs } = gw;
  let agent;
  try {
    agent = deps.agents.resolve(body.agent);
  } catch (err) {
    if (err instanceof UnknownAgentError)
      throw new HttpProblem(404, 'unknown-agent', 'Unknown agent', err.message, { available: err.available });
    throw err;
  }
  const def = agent.definition;
  const ref = { name: def.name, version: def.version };
  // Read in the same synchronous step as the decision below, so the run starts with the very policy
  // that allowed it even if a reload lands while this request awaits.
  const policy = gw.policies?.current();
  try {
    gw.authorize(caller, 'run.dispatch', { agent: def.name, intent: body.task });
  } catch (err) {
    // Denied dispatches are audited too: they are exactly what an auditor asks about.
    if (err instanceof HttpProblem)
      await gw.audit(caller, {
        action: 'dispatch',
        outcome: 'denied',
        reason: err.detail,
        ...(typeof err.extensions.rule === 'string' ? { rule: err.extensions.rule } : {}),
        details: { agent: def.name, task: body.task.slice(0, 200) },
      });
    throw err;
  }
  checkOutputSpecUsable(body.output_spec);
  const contextLabels = effectiveLabels(def.input_schema, body.context, body.context_labels ?? {});
  // From here on the gateway's logs, spans and error bodies hide the run's restricted values.
  addSensitiveValues(restrictedContextValues(body.context, contextLabels));
  checkContext(def.name, def.input_schema, body.context);
  const initiator = caller.principal;
  // Idempotent dispatch: the key (per tenant) decides the workflow id, so Temporal's id uniqueness
  // is the store; the request's hash in the memo tells a retry (200) from a reuse of the key (409).
  if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
    throw new HttpProblem(
      400,
      'invalid-idempotency-key',
      'Invalid Idempotency-Key',
      'Idempotency-Key must be 1-200 characters of A-Z a-z 0-9 . _ : -',
    );
  }
  const requestHash = sha256Hex(canonicalJson(body));
  const runId = idempotencyKey ? `run-idem-${sha256Hex(`${initiator.tenant}\n${idempotencyKey}`).slice(0, 40)}` : gw.newRunId();
  const sameRequest = (found: WorkflowExecutionDescription): Dispatched => {
    if (found.memo?.request_hash !== requestHash) {
      throw new HttpProblem(
        409,
        'idempotency-key-reused',
        'Idempotency-Key reused',
        'This Idempotency-Key was used with a different request body.',
        {
          run_id: runId,
        },
      );
    }
    return {
      status: 200,
      run_id: runId,
      body: { run_id: runId, status: runStatus(found.status.name), agent: ref, links: gw.links(runId), replayed: true },
    };
  };
  const earlier = idempotencyKey ? await runs.describe(runId) : undefined;
  if (earlier) return sameRequest(earlier);
  await checkQuotas(runs, deps.quotas, initiator.tenant);
  const input: AgentRunInput = {
    agent,
    task: body.task,
    context: body.context,
    constraints: body.constraints,
    ...(body.output_spec ? { output_spec: body.output_spec } : {}),
    initiator: { subject: initiator.subject, tenant: initiator.tenant, roles: initiator.roles },
    requested_at: new Date().toISOString(),
    ...(policy ? { policy, environment: deps.environment ?? 'dev' } : {}),
    context_labels: contextLabels,
    trace_id: caller.traceId,
  };
  const run = { run_id: runId, agent: def.name, agent_version: def.version, tenant: initiator.tenant };
  // The run id is fixed before the start, so a start whose answer was lost is looked up by it (and a
  // retry with the same Idempotency-Key can never start a second run).
  const outcome = await gw.starts.start(runId, () =>
    withRunContext(run, () =>
      runs.client.workflow.start<typeof agentRun>(AGENT_RUN, {
        taskQueue: deps.taskQueue,
        workflowId: runId,
        args: [input],
        typedSearchAttributes: [
          { key: RunSearchAttributes.agentName, value: def.name },
          { key: RunSearchAttributes.agentVersion, value: def.version },
          { key: RunSearchAttributes.tenant, value: initiator.tenant },
          { key: RunSearchAttributes.initiator, value: initiator.subject },
          { key: RunSearchAttributes.runState, value: 'Plan' },
        ],
        memo: { agent: def.name, agent_version: def.version, owner: def.owner, request_hash: requestHash },
        workflowIdConflictPolicy: 'FAIL',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        staticSummary: `${def.name}@${def.version}: ${body.task.length > 120 ? body.task.slice(0, 117) + '...' : body.task}`,
      }),
    ),
  );
  // Found there already: this request's own start (its answer lost), or, with a key, a racing retry,
  // which answers like a retry. Either way its dispatch row is written once (the dedupe key).
  const replay = outcome.started === 'before' ? sameRequest(outcome.found) : undefined;
  // The run has started: its row follows even if the store is down now (a 500 would invite a duplicate).
  await auditActed(deps, caller, {
    action: 'dispatch',
    outcome: 'accepted',
    reason: 'allowed by policy',
    run_id: runId,
    details: { agent: def.name, version: def.version },
    dedupe_key: `dispatch:${runId}`,
  });
  if (replay && idempotencyKey) return replay;
  gw.metrics.runsStarted.inc({ agent: def.name, version: def.version });
  deps.logger.info('run dispatched', {
    run_id: runId,
    agent: def.name,
    agent_version: def.version,
    initiator: initiator.subject,
    tenant: initiator.tenant,
  });
  const warnings = await gw.pollers.warnings();
  return {
    status: 202,
    run_id: runId,
    body: { run_id: runId, status: 'running', agent: ref, links: gw.links(runId), ...(warnings.length ? { warnings } : {}) },
  };
}
