import type { ModelConfig } from '../../config/models';
import type { ModelProvider } from './provider';
import { ScriptedPlanner } from './scripted';
import { anthropicProvider, googleProvider, openAICompatibleProvider, openAIProvider } from './vendors';

/**
 * Every model provider this worker offers: the scripted planner (offline, no reasoning) and each
 * vendor kind on the AI SDK. Whether an agent's vendor has its key is checked at worker start
 * (config/models.ts checkAgentModels), so an unused vendor without a key costs nothing.
 */
export function createModelProviders(config: ModelConfig): ModelProvider[] {
  const cassettes = config.cassettes;
  return [
    new ScriptedPlanner(),
    openAIProvider({ ...config.vendors.openai, cassettes }),
    anthropicProvider({ ...config.vendors.anthropic, cassettes }),
    googleProvider({ ...config.vendors.google, cassettes }),
    openAICompatibleProvider(config.endpoints, { cassettes }),
  ];
}
