// What one step hands the next: each event names what happened and carries the data the next step
// needs, so no step reads another's leftovers from a shared bag. Pure types, no I/O.
import type { ApprovalRule } from '../contracts/agent';
import type { CallEstimate } from '../shared/cost';

/** The tool call the model asked for (with the arguments an approver may have edited). */
export interface ToolRequest {
  tool: string;
  args: Record<string, unknown>;
  reason: string;
}

/** A failed model or tool call, as its step recorded it. */
export interface CallFailure {
  type: string;
  message: string;
  from: 'model' | 'tool';
}

/** The error a run ends with when a step gives up. */
export interface EndError {
  type: string;
  message: string;
}

/** A model call the budget could not cover, with what it would have cost. */
export interface BudgetDenial {
  detail: string;
  estimate: CallEstimate;
  promptChars: number;
}

/** The approval a tool call needs: the rule, the ToolCall step that asked, and who demands it. */
export interface ToolApprovalAsk {
  rule: ApprovalRule;
  step: number;
  required_by: 'agent' | 'policy';
}

/** Cuts a step short, whatever step is running; the first one wins. */
export interface Interrupt {
  type: 'budget_exceeded' | 'cancelled' | 'taken_over';
  detail: string;
}

/** Everything that can end a step; the transition table in ./state-machine is keyed on `type`. */
export type RunEvent =
  | { type: 'tool_requested'; request: ToolRequest }
  | { type: 'final_proposed'; result: unknown }
  | { type: 'model_failed'; failure: CallFailure }
  | { type: 'model_denied'; error: EndError }
  | { type: 'budget_denied'; denial: BudgetDenial }
  | { type: 'approval_required'; request: ToolRequest; ask: ToolApprovalAsk }
  | { type: 'tool_denied'; error: EndError }
  | { type: 'tool_succeeded' }
  | { type: 'tool_failed'; failure: CallFailure }
  | { type: 'approved'; request: ToolRequest; approvedHash: string | undefined }
  | { type: 'rejected'; kind: 'tool_call' }
  | { type: 'rejected'; kind: 'escalation'; failure: CallFailure }
  | { type: 'output_valid' }
  | { type: 'final_valid'; result: unknown }
  | { type: 'final_invalid_repairable' }
  | { type: 'final_invalid'; error: EndError }
  | { type: 'continue' }
  | { type: 'fallback' }
  | { type: 'escalate'; failure: CallFailure }
  | { type: 'retry'; failure?: CallFailure }
  | { type: 'give_up'; error: EndError }
  | Interrupt;

/** What the first Plan of a Temporal run is handed: not an event of the table, only the step's reason. */
export interface RunStart {
  type: 'start';
  reason: 'run started' | 'continued as new';
}

/** The reason a step records for the event that led to it (an interrupt's names its detail). */
export function reasonOf(event: RunEvent | RunStart): string {
  if (event.type === 'start') return event.reason;
  return 'detail' in event ? `${event.type}: ${event.detail}` : event.type;
}
