import path from 'node:path';
import { createToolRegistry } from '../../activities/tools';
import { AgentRegistry } from '../../agents/registry';
import { checkAgentModels, loadModelConfig } from '../../config/models';
import { ConfigError, loadSettings, PROJECT_ROOT } from '../../config/settings';
import { modelProviders } from '../../scripts/runtime';

// The example agent of every provider kind loads, and the worker's start-up check names what is missing.

const settings = { ...loadSettings({}), agentsDir: path.join(PROJECT_ROOT, 'agents/examples') };
const tools = createToolRegistry({
  docsDir: settings.docsDir,
  ticketsFile: path.join(process.env.TEST_TMP_DIR!, 'model-config-tickets.jsonl'),
});
const examples = AgentRegistry.load(settings.agentsDir, tools);
const definitions = examples.refs().map((r) => examples.resolve(r).definition);
const KEYS = { OPENAI_API_KEY: 'sk-o', ANTHROPIC_API_KEY: 'sk-a', GOOGLE_GENERATIVE_AI_API_KEY: 'g-k' };

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a throw');
}

test('an example agent of each provider kind loads, with its tool contracts resolved', () => {
  expect(definitions.map((d) => d.model.provider).sort()).toEqual(['anthropic', 'google', 'openai', 'openai-compatible', 'scripted']);
  const spec = examples.resolve('openai-researcher').tools.docs_search!;
  expect(spec.description).toMatch(/Search the platform documentation/);
  expect(spec.input_schema).toMatchObject({ type: 'object', properties: { query: { type: 'string' } }, required: ['query'] });
});

test('worker start: a missing key fails with an error naming each missing variable and its agent', () => {
  const err = thrown(() => checkAgentModels(definitions, loadModelConfig({}, settings.agentsDir)));
  expect(err).toBeInstanceOf(ConfigError);
  expect(err.message).toContain('agent openai-researcher@1.0.0 model (openai/gpt-4o-mini): OPENAI_API_KEY is not set');
  expect(err.message).toContain('ANTHROPIC_API_KEY is not set');
  expect(err.message).toContain('GOOGLE_GENERATIVE_AI_API_KEY is not set');
  // Ollama needs no key; the scripted planner needs nothing.
  expect(err.message).not.toMatch(/ollama-researcher|scripted-researcher/);
  expect(() => checkAgentModels(definitions, loadModelConfig(KEYS, settings.agentsDir))).not.toThrow();
  // Replayed answers need no vendor, so no key.
  expect(() => checkAgentModels(definitions, loadModelConfig({ MODEL_CASSETTES: 'replay' }, settings.agentsDir))).not.toThrow();
});

test('the worker start path itself refuses to build providers without the key', () => {
  const saved = { ...process.env };
  try {
    for (const k of Object.keys(KEYS)) delete process.env[k];
    expect(thrown(() => modelProviders(settings, examples)).message).toContain('OPENAI_API_KEY is not set');
    Object.assign(process.env, KEYS);
    expect(modelProviders(settings, examples).map((p) => p.name)).toEqual([
      'scripted',
      'openai',
      'anthropic',
      'google',
      'openai-compatible',
    ]);
  } finally {
    process.env = saved;
  }
});

test('endpoints: an unknown endpoint, an endpoint key variable that is unset, a bad endpoints file or cassette mode are named', () => {
  const compat = definitions.find((d) => d.model.provider === 'openai-compatible')!;
  const elsewhere = { ...compat, model: { ...compat.model, endpoint: 'nowhere' } };
  expect(thrown(() => checkAgentModels([elsewhere], loadModelConfig({}))).message).toMatch(
    /endpoint "nowhere" is not in .*model-endpoints.yaml \(have: ollama, /,
  );
  const litellm = { ...compat, model: { ...compat.model, endpoint: 'litellm' } };
  expect(thrown(() => checkAgentModels([litellm], loadModelConfig({}))).message).toContain(
    'LITELLM_API_KEY is not set (endpoint "litellm" needs it)',
  );
  expect(() => checkAgentModels([litellm], loadModelConfig({ LITELLM_API_KEY: 'k' }))).not.toThrow();
  expect(thrown(() => loadModelConfig({ MODEL_CASSETTES: 'yes' })).message).toBe(
    'MODEL_CASSETTES="yes" is invalid: must be off, record or replay',
  );
  expect(thrown(() => loadModelConfig({ MODEL_ENDPOINTS_FILE: 'no/such.yaml' })).message).toContain('no such file');
  expect(loadModelConfig({}).cassettes.dirFor('docs-researcher')).toBe(path.join(PROJECT_ROOT, 'agents/docs-researcher/cassettes'));
  expect(loadModelConfig({ MODEL_CASSETTE_DIR: 'tmp/tapes' }).cassettes.dirFor('a')).toBe(path.join(PROJECT_ROOT, 'tmp/tapes/a'));
});

test('an openai-compatible model needs an endpoint, and only it takes one', () => {
  const base = definitions.find((d) => d.model.provider === 'openai')!;
  const { AgentDefinitionSchema } = jest.requireActual<typeof import('../../contracts/agent')>('../../contracts/agent');
  const bad = AgentDefinitionSchema.safeParse({ ...base, model: { provider: 'openai-compatible', name: 'x' } });
  expect(bad.success).toBe(false);
  expect(bad.error!.issues[0]!.message).toMatch(/needs an endpoint/);
  expect(AgentDefinitionSchema.safeParse({ ...base, model: { provider: 'openai', name: 'x', endpoint: 'ollama' } }).success).toBe(false);
});
