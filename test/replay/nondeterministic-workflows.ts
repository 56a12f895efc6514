// A DELIBERATELY BROKEN copy of the workflows, used only by the replay test: it starts a timer before
// the run begins, a change that is not wrapped in `patched()`. Replaying a committed history with it
// must fail with a determinism error; if it did not, the replay test could not catch a real break.
import { sleep } from '@temporalio/workflow';
import type { AgentRunInput, AgentRunOutput } from '../../contracts/run';
import { agentRun as realAgentRun } from '../../workflows/agent-run';

/** agentRun with an unpatched extra timer in front. */
export async function agentRun(input: AgentRunInput): Promise<AgentRunOutput> {
  await sleep('1 millisecond');
  return realAgentRun(input);
}
