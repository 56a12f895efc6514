// The run workflow's messages: its query and updates. The gateway imports these definitions (not the
// workflow module), so both sides name them once.
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { ApprovalUpdateInput, ApprovalUpdateResult, RunState, TakeoverUpdateInput } from '../contracts/run';

/** The run's current state, steps, usage, approvals and output so far; answered while running and after. */
export const stateQuery = defineQuery<RunState>('state');
/** An approver's decision on a pending approval; the validator rejects bad decisions without touching the run. */
export const approvalUpdate = defineUpdate<ApprovalUpdateResult, [ApprovalUpdateInput]>('decideApproval');
/** An operator completes the run by hand; the result is marked as human-provided. */
export const takeoverUpdate = defineUpdate<RunState['output'], [TakeoverUpdateInput]>('takeover');
