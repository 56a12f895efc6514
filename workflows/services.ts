// What a run's steps reach outside their own logic, in one object: the governance store, the search
// attributes, the interrupts and the workflow APIs they call (activities, patches, conditions, logs,
// observers). The workflow builds the real ones (workflowRun); a unit test hands a step fakes instead.
import type { ActivityOptions, log } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { PolicyDecision } from '../contracts/policy';
import type { Step } from '../contracts/run';
import type { RunGovernance } from './run-governance';
import type { RunInterrupts } from './interrupts';
import type { RunAttributes } from './run-attributes';
import type { ObservedRun } from './views';

/** The activities the steps call (the model and the tools), as plain functions of their input. */
export type StepActivities = Pick<Activities, 'plan' | 'callTool'>;

/** What watches the run's steps: logs, the Web UI's details, metrics and spans (./observe). */
export interface RunObserver {
  stepEntered(run: ObservedRun, step: Step): void;
  stepEnded(run: ObservedRun, step: Step): void;
  toolDenied(step: Step, tool: string, error: { type: string; message: string }, decision?: PolicyDecision): void;
}

/** The services of one run. */
export interface RunServices {
  readonly governance: Pick<
    RunGovernance,
    'audit' | 'auditAccepted' | 'reserve' | 'settle' | 'flushSettlement' | 'written' | 'rowsAfterAccept'
  >;
  readonly attributes: Pick<RunAttributes, 'set' | 'flush'>;
  readonly interrupts: RunInterrupts;
  /** The step activities under the given options (proxyActivities in a workflow). */
  readonly activities: (options: ActivityOptions) => StepActivities;
  /** Whether the run takes a patched path (the SDK's patched(): called where the path forks, as history records it). */
  readonly patched: (patchId: string) => boolean;
  /** Waits until the function is true (the SDK's condition()). */
  condition(fn: () => boolean): Promise<void>;
  /** Waits until the function is true (true) or the timeout passes (false); the timeout is a workflow timer. */
  condition(fn: () => boolean, timeoutMs: number): Promise<boolean>;
  readonly log: Pick<typeof log, 'info' | 'warn'>;
  readonly observer: RunObserver;
}
