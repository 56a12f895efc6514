// The worker bundles this file: every workflow the platform runs is re-exported here.
export { agentRun, stateQuery } from './agent-run';
