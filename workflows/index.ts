/**
 * The workflows a worker runs (the worker bundles this file, and replays use it too): {@link agentRun},
 * and the messages a caller sends it ({@link stateQuery}, {@link approvalUpdate}, {@link takeoverUpdate}).
 *
 * @module
 */
export { agentRun } from './agent-run';
export { approvalUpdate, stateQuery, takeoverUpdate } from './messages';
