// The workflows the benchmark runs: the platform's agentRun, and rawRun, the same work written as
// plain Temporal code (the same plan and tool activities in a loop, no state machine, policy, budgets,
// search attributes or audit). The difference between the two is what the control plane costs.
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { AgentRunInput, Observation } from '../contracts/run';

export { agentRun } from '../workflows';

const { plan, callTool } = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumAttempts: 3 },
});

export async function rawRun(input: AgentRunInput): Promise<unknown> {
  const runId = workflowInfo().workflowId;
  const observations: Observation[] = [];
  for (let step = 1; step <= 50; step += 2) {
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
