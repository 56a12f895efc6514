// The worker bundles this file: every workflow the platform runs is re-exported here.
export { agentRun, approvalUpdate, OPERATOR_ROLES, stateQuery, takeoverUpdate } from './agent-run';
