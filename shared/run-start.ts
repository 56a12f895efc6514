// How an agentRun is started: the workflow input and the start options, built from a resolved agent and
// a request. The one run start behind the gateway's dispatch and the eval harness, so an eval case runs
// with exactly the input and search attributes a dispatched run gets. Pure: no I/O, no clock.
import type { WorkflowStartOptions } from '@temporalio/client';
import type { ResolvedAgent } from '../contracts/agent';
import type { Label, Policy } from '../contracts/policy';
import type { Initiator } from '../contracts/principal';
import type { AgentRunInput, AgentRunOutput, Constraints } from '../contracts/run';
import { RunSearchAttributes } from '../contracts/run-search-attributes';

/** The run workflow's type name, as Temporal starts and lists it. */
export const AGENT_RUN = 'agentRun';

/** What the caller asked the run to do (a RunRequest's fields, or an eval case's). */
export interface RunAsk {
  task: string;
  context: Record<string, unknown>;
  constraints: Constraints;
  output_spec?: Record<string, unknown>;
}

/** Everything a run starts from besides the ask: who asks, when, under which policy, with which labels. */
export interface RunOrigin {
  initiator: Initiator;
  /** ISO time the request was accepted. */
  requestedAt: string;
  /** The effective label of each context field (gateway/labels.ts effectiveLabels). */
  contextLabels: Record<string, Label>;
  /** The policy snapshot the run is checked against, and its environment; absent: no policy checks. */
  policy?: { policy: Policy; environment: string };
  traceId?: string;
}

/** The agentRun workflow's input for a resolved agent and an ask. */
export function agentRunInput(agent: ResolvedAgent, ask: RunAsk, origin: RunOrigin): AgentRunInput {
  const { initiator } = origin;
  return {
    agent,
    task: ask.task,
    context: ask.context,
    constraints: ask.constraints,
    ...(ask.output_spec ? { output_spec: ask.output_spec } : {}),
    initiator: { subject: initiator.subject, tenant: initiator.tenant, roles: initiator.roles },
    requested_at: origin.requestedAt,
    ...(origin.policy ? { policy: origin.policy.policy, environment: origin.policy.environment } : {}),
    context_labels: origin.contextLabels,
    ...(origin.traceId !== undefined ? { trace_id: origin.traceId } : {}),
  };
}

/** The start options of one agentRun, typed by its input and output. */
export type AgentRunStartOptions = WorkflowStartOptions<(input: AgentRunInput) => Promise<AgentRunOutput>>;

/**
 * The options that start `input` as run `workflowId` on `taskQueue`: the search attributes every run
 * carries from its start (agent, tenant, initiator, state Plan), the memo the gateway reads back
 * (agent, version, owner, plus `memo`), and the summary the Temporal UI shows.
 */
export function agentRunStartOptions(
  input: AgentRunInput,
  where: { workflowId: string; taskQueue: string; summary: string; memo?: Record<string, unknown> },
): AgentRunStartOptions {
  const def = input.agent.definition;
  return {
    taskQueue: where.taskQueue,
    workflowId: where.workflowId,
    args: [input],
    typedSearchAttributes: [
      { key: RunSearchAttributes.agentName, value: def.name },
      { key: RunSearchAttributes.agentVersion, value: def.version },
      { key: RunSearchAttributes.tenant, value: input.initiator.tenant },
      { key: RunSearchAttributes.initiator, value: input.initiator.subject },
      { key: RunSearchAttributes.runState, value: 'Plan' },
    ],
    memo: { agent: def.name, agent_version: def.version, owner: def.owner, ...where.memo },
    staticSummary: where.summary,
  };
}
