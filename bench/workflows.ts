// The workflows the benchmark runs: the platform's agentRun, and the same work written as plain
// Temporal code: rawRun (the same plan and tool activities in a loop, no state machine, policy, budgets,
// search attributes or audit) and rawApproval (a run parked on an update, then the tool call). The
// difference between the two is what the control plane costs.
import { condition, defineQuery, defineUpdate, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { AgentRunInput, Observation } from '../contracts/run';

export { agentRun } from '../workflows';

const { plan, callTool } = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumAttempts: 3 },
});

/** The raw arm's approval: a bare update that lets the parked run go on. */
export const rawApproveUpdate = defineUpdate<void, [boolean]>('rawApprove');
/** Whether the raw run is parked, waiting for its update. */
export const rawParkedQuery = defineQuery<boolean>('rawParked');

export async function rawRun(input: AgentRunInput): Promise<unknown> {
  const runId = workflowInfo().workflowId;
  const observations: Observation[] = [];
  for (let step = 1; step <= 99; step += 2) {
    const next = await plan({ run_id: runId, step, agent: input.agent, task: input.task, context: input.context, observations });
    if (next.action.type === 'final') return next.action.result;
    const { tool, args } = next.action;
    const out = await callTool({
      run_id: runId,
      step: step + 1,
      agent: { name: input.agent.definition.name, version: input.agent.definition.version },
      tool,
      args,
    });
    observations.push({ step: step + 1, tool, args, output: out.output, evidence: out.evidence });
  }
  throw new Error('too many steps');
}

/** A model call, then parked until the update approves the tool call it asked for, then the tool call. */
export async function rawApproval(input: AgentRunInput): Promise<unknown> {
  const runId = workflowInfo().workflowId;
  const first = await plan({ run_id: runId, step: 1, agent: input.agent, task: input.task, context: input.context, observations: [] });
  if (first.action.type === 'final') return first.action.result;
  const { tool, args } = first.action;
  let approved: boolean | undefined;
  setHandler(rawParkedQuery, () => approved === undefined);
  setHandler(rawApproveUpdate, (yes) => {
    approved = yes;
  });
  await condition(() => approved !== undefined);
  if (!approved) return null;
  const agent = { name: input.agent.definition.name, version: input.agent.definition.version };
  return (await callTool({ run_id: runId, step: 2, agent, tool, args })).output;
}
