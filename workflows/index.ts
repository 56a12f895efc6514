// The worker bundles this file: every workflow the platform runs is re-exported here.
export { agentRun } from './agent-run';
export { approvalUpdate, stateQuery, takeoverUpdate } from './messages';
