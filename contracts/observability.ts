import type { Sink, Sinks } from '@temporalio/workflow';

/** A step of a run as the workflow reports it to the worker's metrics (through a sink: never during replay). */
export interface StepObservation {
  agent: string;
  agent_version: string;
  tenant: string;
  step_type: string;
  /** Set when the step ended. */
  duration_ms?: number;
  /**
   * The decision the step counts: the policy's on a Plan (model_call) or ToolCall (tool_call) step, or
   * `require_approval` (rule `agent.approvals`) where the agent definition demands an approval the policy allowed.
   */
  policy?: { action: 'model_call' | 'tool_call'; effect: string; rule: string };
  /** An approval step's outcome (approved, rejected, expired, withdrawn), who may decide and who did. */
  approval?: { status: string; approvers: string[]; decided_by: string[] };
  /** A terminal step's run outcome: completed, failed, cancelled or taken_over. */
  run_outcome?: 'completed' | 'failed' | 'cancelled' | 'taken_over';
  /** The workflow span active when the step ended, so an approval wait can be drawn under it. */
  span?: { trace_id: string; span_id: string };
  started_at: string;
  ended_at?: string;
}

/** The sink the agentRun workflow reports its steps through. */
export interface RunObserverSinks extends Sinks {
  runObserver: Sink & {
    stepStarted(o: StepObservation): void;
    stepEnded(o: StepObservation): void;
  };
}
