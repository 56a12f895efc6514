// Narrow read-only views of a run for the code that only watches it (./observe): what it may read,
// and nothing it could change. Pure types.
import type { ApproverSet } from '../contracts/agent';
import type { RunState, Usage } from '../contracts/run';
import type { Interrupt } from './events';

/** What observers show beyond the run's state: written by the steps as they go, read only by observers. */
export interface RunDisplay {
  /** The tool of the latest call the model asked for. */
  tool?: string;
  /** The latest approval asked for: who may decide; for a tool call, the ToolCall step that asked and who demands it. */
  approval?:
    | { kind: 'tool_call'; approvers: ApproverSet; step: number; required_by: 'agent' | 'policy' }
    | { kind: 'escalation'; approvers: ApproverSet | undefined };
}

/** The run as its observers (logs, Web UI details, metrics sinks) see it. */
export interface ObservedRun {
  readonly labels: Readonly<{ run_id: string; agent: string; agent_version: string }>;
  readonly tenant: string;
  readonly maxSteps: number;
  readonly state: Readonly<RunState>;
  readonly usage: Readonly<Usage>;
  readonly display: Readonly<RunDisplay>;
  /** The interrupt that ended or is ending the run, if any. */
  readonly interrupt: Readonly<Interrupt> | undefined;
}
