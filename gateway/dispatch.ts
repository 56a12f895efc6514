import { createHash } from 'node:crypto';
import type { WorkflowExecutionDescription } from '@temporalio/client';
import { UnknownAgentError, type AgentRegistry } from '../agents/registry';
import type { ResolvedAgent } from '../contracts/agent';
import type { AgentRunInput, RunRequest, RunStatus } from '../contracts/run';
import { IDEMPOTENCY_KEY } from '../contracts/vocabulary';
import { canonicalJson } from '../shared/canonical';
import { AGENT_RUN, agentRunInput, agentRunStartOptions } from '../shared/run-start';
import { addSensitiveValues, restrictedContextValues } from '../observability/redact';
import { withRunContext } from '../observability/tracing';
import type { agentRun } from '../workflows/agent-run';
import type { Caller, Gateway } from './context';
import type { RunLinks } from './runs/view';
import { checkContext, checkOutputSpecUsable, effectiveLabels } from './labels';
import { checkQuotas } from './runs/quotas';
import { HttpProblem } from './problem';
import { auditActed } from './deferred-audit';
import { runStatus } from './runs/visibility';

// Dispatching a run: the checks in the order the API documents them, the idempotent start, and its
// audit row. No Express here: the routes (gateway/routes/runs-write.ts) hand it a parsed request.

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
  const agent = resolveAgent(deps.agents, body.agent);
  const def = agent.definition;
  // Read in the same synchronous step as the decision below, so the run starts with the very policy
  // that allowed it even if a reload lands while this request awaits.
  const policy = gw.policies?.current();
  await authorizeDispatch(gw, caller, def.name, body.task);
  checkOutputSpecUsable(body.output_spec);
  const contextLabels = effectiveLabels(def.input_schema, body.context, body.context_labels ?? {});
  // From here on the gateway's logs, spans and error bodies hide the run's restricted values.
  addSensitiveValues(restrictedContextValues(body.context, contextLabels));
  checkContext(def.name, def.input_schema, body.context);
  const initiator = caller.principal;
  // Idempotent dispatch: the key (per tenant) decides the workflow id, so Temporal's id uniqueness
  // is the store; the request's hash in the memo tells a retry (200) from a reuse of the key (409).
  const runId = runIdFor(gw, initiator.tenant, idempotencyKey);
  const requestHash = sha256Hex(canonicalJson(body));
  const retryOf = (found: WorkflowExecutionDescription) => replayOf(gw, agent, runId, requestHash, found);
  const earlier = idempotencyKey ? await runs.describe(runId) : undefined;
  if (earlier) return retryOf(earlier);
  await checkQuotas(runs, deps.quotas, initiator.tenant);
  const input = agentRunInput(agent, body, {
    initiator,
    requestedAt: new Date().toISOString(),
    contextLabels,
    ...(policy ? { policy: { policy, environment: deps.environment ?? 'dev' } } : {}),
    traceId: caller.traceId,
  });
  // Asked beside the start, not after it: the pollers' answer (cached, bounded, never a rejection) adds no latency.
  const warnings = gw.pollers.warnings();
  const outcome = await startRun(gw, runId, input, requestHash);
  // Found there already: this request's own start (its answer lost), or, with a key, a racing retry,
  // which answers like a retry. Either way its dispatch row is written once (the dedupe key).
  const replay = outcome.started === 'before' ? retryOf(outcome.found) : undefined;
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
  const answer = { run_id: runId, status: 'running' as const, agent: refOf(agent), links: gw.links(runId) };
  const said = await warnings;
  return { status: 202, run_id: runId, body: { ...answer, ...(said.length ? { warnings: said } : {}) } };
}

const refOf = (agent: ResolvedAgent) => ({ name: agent.definition.name, version: agent.definition.version });

/** The agent `ref` names (name or name@version); a 404 listing what exists otherwise. */
function resolveAgent(agents: AgentRegistry, ref: string): ResolvedAgent {
  try {
    return agents.resolve(ref);
  } catch (err) {
    if (err instanceof UnknownAgentError)
      throw new HttpProblem(404, 'unknown-agent', 'Unknown agent', err.message, { available: err.available });
    throw err;
  }
}

/** The 403 of a dispatch the caller may not make, audited: denied dispatches are exactly what an auditor asks about. */
async function authorizeDispatch(gw: Gateway, caller: Caller, agent: string, task: string): Promise<void> {
  try {
    gw.authorize(caller, 'run.dispatch', { agent, intent: task });
  } catch (err) {
    if (err instanceof HttpProblem)
      await gw.audit(caller, {
        action: 'dispatch',
        outcome: 'denied',
        reason: err.detail,
        ...(typeof err.extensions.rule === 'string' ? { rule: err.extensions.rule } : {}),
        details: { agent, task: task.slice(0, 200) },
      });
    throw err;
  }
}

/** The run id of a dispatch: derived from the tenant and the Idempotency-Key when there is one (a 400 if malformed), else fresh. */
function runIdFor(gw: Gateway, tenant: string, idempotencyKey: string | undefined): string {
  if (idempotencyKey === undefined) return gw.newRunId();
  if (!IDEMPOTENCY_KEY.test(idempotencyKey)) {
    throw new HttpProblem(
      400,
      'invalid-idempotency-key',
      'Invalid Idempotency-Key',
      'Idempotency-Key must be 1-200 characters of A-Z a-z 0-9 . _ : -',
    );
  }
  return `run-idem-${sha256Hex(`${tenant}\n${idempotencyKey}`).slice(0, 40)}`;
}

/** The 200 of a retry that finds its run already there; a 409 when the key was used with another body. */
function replayOf(gw: Gateway, agent: ResolvedAgent, runId: string, requestHash: string, found: WorkflowExecutionDescription): Dispatched {
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
  const body = {
    run_id: runId,
    status: runStatus(found.status.name),
    agent: refOf(agent),
    links: gw.links(runId),
    replayed: true as const,
  };
  return { status: 200, run_id: runId, body };
}

/**
 * Starts the run under its fixed id, so a start whose answer was lost is looked up by it (and a retry
 * with the same Idempotency-Key can never start a second run).
 */
function startRun(gw: Gateway, runId: string, input: AgentRunInput, requestHash: string) {
  const def = input.agent.definition;
  const run = { run_id: runId, agent: def.name, agent_version: def.version, tenant: input.initiator.tenant };
  const options = agentRunStartOptions(input, {
    workflowId: runId,
    taskQueue: gw.deps.taskQueue,
    memo: { request_hash: requestHash },
    summary: `${def.name}@${def.version}: ${input.task.length > 120 ? input.task.slice(0, 117) + '...' : input.task}`,
  });
  return gw.starts.start(runId, () =>
    withRunContext(run, () =>
      gw.runs.client.workflow.start<typeof agentRun>(AGENT_RUN, {
        ...options,
        workflowIdConflictPolicy: 'FAIL',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
      }),
    ),
  );
}
