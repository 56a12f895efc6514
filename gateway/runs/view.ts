import type { WorkflowExecutionDescription } from '@temporalio/client';
import type { z } from 'zod';
import type { Step } from '../../contracts/run';
import type { RunLinksSchema, RunViewSchema } from '../api-schemas';
import { RunSearchAttributes } from '../../contracts/run-search-attributes';
import { queryWarning } from './errors';
import type { RunStore, VisibleRun } from './store';
import { runStatus } from './visibility';

/** Links of a run in API answers. */
export type RunLinks = z.infer<typeof RunLinksSchema>;

/** What `GET /v1/runs/{id}` answers. */
export type RunView = z.infer<typeof RunViewSchema>;

/** Until a worker has completed the first workflow task there is no state to query (a query would wait). */
export const untouched = (desc: WorkflowExecutionDescription): boolean => desc.status.name === 'RUNNING' && Number(desc.historyLength) <= 2;

/**
 * The view of a run: its description, plus the state query's answer while it runs (or was cancelled,
 * which the workflow answers with its partial output), or its result once closed.
 */
export async function runView(runs: RunStore, { handle, desc }: VisibleRun, links: RunLinks): Promise<RunView> {
  const base = {
    run_id: desc.workflowId,
    agent: {
      name: desc.typedSearchAttributes.get(RunSearchAttributes.agentName),
      version: desc.typedSearchAttributes.get(RunSearchAttributes.agentVersion),
    },
    status: runStatus(desc.status.name),
    state: desc.typedSearchAttributes.get(RunSearchAttributes.runState),
    initiator: desc.typedSearchAttributes.get(RunSearchAttributes.initiator),
    started_at: desc.startTime.toISOString(),
    closed_at: desc.closeTime?.toISOString(),
    links,
  };
  if (desc.status.name === 'RUNNING' || desc.status.name === 'CANCELLED') {
    if (untouched(desc)) {
      return {
        ...base,
        steps: [],
        approvals: [],
        warnings: ['waiting for a worker to pick up the run; is a worker polling the task queue?'],
      };
    }
    const answer = await runs.tryQueryState(handle);
    if ('failure' in answer) return { ...base, steps: [], approvals: [], warnings: [queryWarning(answer.failure)] };
    const { state } = answer;
    const closed = desc.status.name === 'CANCELLED';
    return {
      ...base,
      state: state.current,
      steps: state.steps,
      usage: state.usage,
      approvals: state.approvals,
      ...(closed
        ? { output: state.output, error: { type: 'Cancelled', message: 'cancelled through the API' } }
        : { partial_output: state.output }),
    };
  }
  const { out, error } = await runs.closedOutput(handle);
  return {
    ...base,
    steps: out?.steps ?? [],
    usage: out?.usage,
    approvals: out?.approvals ?? [],
    output: out
      ? {
          result: out.result,
          evidence: out.evidence,
          actions_taken: out.actions_taken,
          warnings: out.warnings,
          completed_by: out.completed_by,
        }
      : undefined,
    error: error ?? out?.error,
  };
}

/** The steps of a run: from its result once completed or failed, else from the state query. */
export async function runSteps(runs: RunStore, { handle, desc }: VisibleRun): Promise<{ steps: Step[]; warnings?: string[] }> {
  if (desc.status.name === 'COMPLETED' || desc.status.name === 'FAILED')
    return { steps: (await runs.closedOutput(handle)).out?.steps ?? [] };
  if (Number(desc.historyLength) <= 2) return { steps: [] };
  const answer = await runs.tryQueryState(handle);
  return 'failure' in answer ? { steps: [], warnings: [queryWarning(answer.failure)] } : { steps: answer.state.steps };
}
