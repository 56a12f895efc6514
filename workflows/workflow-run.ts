// The run context of a workflow execution: its identity from workflowInfo(), the patches it was
// started under, and the real services (governance store, search attributes, cancellation scopes,
// activities, observers). The only place the run's services meet the workflow APIs.
import { condition, log, patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { AgentRunInput } from '../contracts/run';
import { RunGovernance } from './run-governance';
import { ScopedInterrupts } from './interrupts';
import { stepEnded, stepEntered, toolDenied } from './observe';
import { RunContext, runLabels } from './run-context';
import { RunAttributes } from './run-attributes';
import type { RunServices } from './services';

/** The context of the run this workflow execution is. */
export function workflowRun(input: AgentRunInput): RunContext {
  const info = workflowInfo();
  const runId = info.workflowId;
  // Runs started by a worker that wrote no audit rows, or checked no budget before a model call, must
  // replay without them (docs/changing-workflows.md; the v1-* histories are such runs). Both are
  // decided here, when the run starts, in this order (each patched() call is a marker in the history).
  const auditInRun = patched('audit-rows-from-runs');
  const budgetsBeforeCall = patched('budgets-before-call');
  // Runs started before `lean-history` upserted search attributes once per step and settled each model
  // call in its own local activity; they replay that way.
  const lean = patched('lean-history');
  const attributes = new RunAttributes(lean);
  const identity = { runId, execution: info.runId, budgetsBeforeCall };
  const governed = { input, runId, execution: info.runId, labels: runLabels(runId, input.agent.definition) };
  // Runs started before `approval-rows-after-accept` left each decision's row to the gateway and wrote
  // approval rows through local activities (which a lost workflow task does not undo).
  const governance = new RunGovernance(governed, auditInRun, lean, patched('approval-rows-after-accept'));
  const services: RunServices = {
    governance,
    attributes,
    interrupts: new ScopedInterrupts(),
    activities: (options) => proxyActivities<Activities>(options),
    patched,
    condition,
    log,
    observer: { stepEntered, stepEnded, toolDenied },
  };
  return new RunContext(input, identity, services);
}
