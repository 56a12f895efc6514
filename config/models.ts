import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { AgentDefinition, ModelSettings } from '../contracts/agent';
import { ConfigError, PROJECT_ROOT } from './settings';

/** The environment variables of each hosted vendor: the AI SDK's own names, read here and only here. */
export const VENDOR_ENV = {
  openai: { key: 'OPENAI_API_KEY', baseUrl: 'OPENAI_BASE_URL' },
  anthropic: { key: 'ANTHROPIC_API_KEY', baseUrl: 'ANTHROPIC_BASE_URL' },
  google: { key: 'GOOGLE_GENERATIVE_AI_API_KEY', baseUrl: 'GOOGLE_GENERATIVE_AI_BASE_URL' },
} as const;
export type HostedVendor = keyof typeof VENDOR_ENV;

const EndpointsFileSchema = z
  .object({
    endpoints: z.record(
      z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, 'endpoint names are lower-case words'),
      z
        .object({
          base_url: z.url(),
          /** The environment variable holding the key; absent for servers that need none. */
          key_env: z
            .string()
            .regex(/^[A-Z][A-Z0-9_]*$/, 'must be an environment variable name')
            .optional(),
          structured_outputs: z.boolean().default(false),
        })
        .strict(),
    ),
  })
  .strict();

/** Model vendors, endpoints and cassettes, from the environment and config/model-endpoints.yaml. */
export interface ModelConfig {
  vendors: Record<HostedVendor, { baseUrl: string | undefined; apiKey: string | undefined; keyVariable: string }>;
  endpoints: Record<string, { baseUrl: string; apiKey: string | undefined; keyVariable: string | undefined; structuredOutputs: boolean }>;
  endpointsFile: string;
  cassettes: { mode: 'off' | 'record' | 'replay'; dirFor(agent: string): string };
}

type Env = Record<string, string | undefined>;

/**
 * Reads the model configuration once at start-up: keys and base URLs from the environment, named
 * OpenAI-compatible endpoints from MODEL_ENDPOINTS_FILE (default config/model-endpoints.yaml), and
 * MODEL_CASSETTES (off | record | replay) with MODEL_CASSETTE_DIR (default: agents/<agent>/cassettes).
 */
export function loadModelConfig(env: Env = process.env, agentsDir = path.join(PROJECT_ROOT, 'agents')): ModelConfig {
  const value = (name: string) => (env[name] === '' ? undefined : env[name]);
  const vendors = Object.fromEntries(
    (Object.keys(VENDOR_ENV) as HostedVendor[]).map((v) => {
      const names = VENDOR_ENV[v];
      const baseUrl = value(names.baseUrl);
      if (baseUrl !== undefined && !z.url().safeParse(baseUrl).success)
        throw new ConfigError(`${names.baseUrl}=${JSON.stringify(baseUrl)} is not a URL`);
      return [v, { baseUrl, apiKey: value(names.key), keyVariable: names.key }];
    }),
  ) as ModelConfig['vendors'];

  const endpointsFile = path.resolve(PROJECT_ROOT, value('MODEL_ENDPOINTS_FILE') ?? 'config/model-endpoints.yaml');
  let endpoints: ModelConfig['endpoints'] = {};
  if (existsSync(endpointsFile)) {
    let raw: unknown;
    try {
      raw = parseYaml(readFileSync(endpointsFile, 'utf8'));
    } catch (err) {
      throw new ConfigError(`${endpointsFile}: not valid YAML: ${(err as Error).message}`);
    }
    const parsed = EndpointsFileSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ConfigError(`${endpointsFile}: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
    }
    endpoints = Object.fromEntries(
      Object.entries(parsed.data.endpoints).map(([name, e]) => [
        name,
        {
          baseUrl: e.base_url,
          apiKey: e.key_env ? value(e.key_env) : undefined,
          keyVariable: e.key_env,
          structuredOutputs: e.structured_outputs,
        },
      ]),
    );
  } else if (env.MODEL_ENDPOINTS_FILE) {
    throw new ConfigError(`MODEL_ENDPOINTS_FILE=${env.MODEL_ENDPOINTS_FILE}: no such file`);
  }

  const mode = value('MODEL_CASSETTES') ?? 'off';
  if (mode !== 'off' && mode !== 'record' && mode !== 'replay') {
    throw new ConfigError(`MODEL_CASSETTES=${JSON.stringify(mode)} is invalid: must be off, record or replay`);
  }
  const cassetteDir = value('MODEL_CASSETTE_DIR');
  const dirFor = (agent: string) =>
    cassetteDir ? path.resolve(PROJECT_ROOT, cassetteDir, agent) : path.join(agentsDir, agent, 'cassettes');
  return { vendors, endpoints, endpointsFile, cassettes: { mode, dirFor } };
}

/** What is missing for one model setting on this worker, or undefined when it can run. */
function modelProblem(m: ModelSettings, config: ModelConfig): string | undefined {
  // Replayed answers need no vendor, hence no key.
  const needsKey = config.cassettes.mode !== 'replay';
  if (m.provider === 'scripted') return undefined;
  if (m.provider === 'openai-compatible') {
    const endpoint = config.endpoints[m.endpoint ?? ''];
    if (!endpoint) {
      return `endpoint "${m.endpoint}" is not in ${config.endpointsFile} (have: ${Object.keys(config.endpoints).join(', ') || 'none'})`;
    }
    if (needsKey && endpoint.keyVariable && !endpoint.apiKey)
      return `${endpoint.keyVariable} is not set (endpoint "${m.endpoint}" needs it)`;
    return undefined;
  }
  const vendor = config.vendors[m.provider];
  if (needsKey && !vendor.apiKey) return `${vendor.keyVariable} is not set`;
  return undefined;
}

/**
 * Checks at worker start that every agent's model (and fallback model) can be called here: its key
 * variable is set, its endpoint is configured. Throws one ConfigError naming each agent and what to set.
 */
export function checkAgentModels(agents: AgentDefinition[], config: ModelConfig): void {
  const problems: string[] = [];
  for (const def of agents) {
    for (const [where, m] of [
      ['model', def.model],
      ['fallback.model', def.fallback?.model],
    ] as const) {
      const problem = m && modelProblem(m, config);
      if (problem) problems.push(`agent ${def.name}@${def.version} ${where} (${m.provider}/${m.name}): ${problem}`);
    }
  }
  if (problems.length) throw new ConfigError(`models cannot be called on this worker: ${problems.join('; ')}`);
}
