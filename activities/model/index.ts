/**
 * The models behind the Plan step: the {@link ModelProvider} interface, the scripted planner and
 * the AI SDK vendors, all built for a worker by {@link createModelProviders}.
 *
 * @module
 */
export { createModelProviders } from './providers';
export type { ModelProvider, PlanCallInfo } from './provider';
export { ScriptedPlanner } from './scripted';
export { anthropicProvider, googleProvider, openAICompatibleProvider, openAIProvider } from './vendors';
