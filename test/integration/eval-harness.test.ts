import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { createToolRegistry } from '../../activities/tools';
import { AgentRegistry } from '../../agents/registry';
import { loadSettings, PROJECT_ROOT } from '../../config/settings';
import { AgentDefinitionSchema } from '../../contracts/agent';
import { runEvalCase } from '../support/eval-harness';
import { startPlatform, type TestPlatform } from '../support/platform';

// The harness must report a failing case as failing, or the evals prove nothing: wrong expectations
// against the real agent, and a right expectation against an agent whose script was changed.
const settings = loadSettings({});
const tools = createToolRegistry({ docsDir: settings.docsDir, ticketsFile: path.join(process.env.TEST_TMP_DIR!, 'harness-tickets.jsonl') });
const real = AgentDefinitionSchema.parse(parseYaml(readFileSync(path.join(PROJECT_ROOT, 'agents/docs-researcher/agent.yaml'), 'utf8')));
// The same agent with an edited script: it no longer searches, and answers something else.
const edited = AgentDefinitionSchema.parse({ ...real, name: 'edited-researcher', script: { steps: [], finish: { summary: 'no idea' } } });

let platform: TestPlatform;
beforeAll(async () => {
  platform = await startPlatform({ agents: new AgentRegistry([real, edited], tools), tools });
});
afterAll(async () => {
  await platform.stop();
});

const dispatchCase = {
  name: 'how to dispatch a run',
  task: 'How do I dispatch a run?',
  context: {},
  expect: { tools: ['docs_search'], evidence_contains: ['/v1/runs'], summary_contains: ['How do I dispatch a run?'] },
};

test('a case the agent meets passes', async () => {
  const outcome = await runEvalCase(platform, 'docs-researcher', dispatchCase);
  expect(outcome.failures).toEqual([]);
  expect(outcome.passed).toBe(true);
});

test('wrong expectations are reported, each by name', async () => {
  const outcome = await runEvalCase(platform, 'docs-researcher', {
    ...dispatchCase,
    name: 'wrong',
    expect: { tools: ['ticket_create'], evidence_contains: ['no such text anywhere 42'], summary_contains: ['nope'] },
  });
  expect(outcome.passed).toBe(false);
  expect(outcome.failures).toEqual([
    'tools: expected ["ticket_create"], called ["docs_search"]',
    'no evidence contains "no such text anywhere 42"',
    'summary does not contain "nope"',
  ]);
});

test('an agent whose script changed fails the case its original passes', async () => {
  const outcome = await runEvalCase(platform, 'edited-researcher', dispatchCase);
  expect(outcome.passed).toBe(false);
  expect(outcome.failures).toEqual(
    expect.arrayContaining([
      'tools: expected ["docs_search"], called []',
      'no evidence contains "/v1/runs"',
      'summary does not contain "How do I dispatch a run?"',
    ]),
  );
});
