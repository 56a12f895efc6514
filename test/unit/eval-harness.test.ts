import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ScriptedPlanner } from '../../activities/model/scripted';
import { createToolRegistry } from '../../activities/tools';
import { AgentRegistry } from '../../agents/registry';
import { runEvalCase } from '../../agents/eval-harness';
import { loadSettings, PROJECT_ROOT } from '../../config/settings';

// The harness must report a failing case as failing, or the evals prove nothing.
const tmp = mkdtempSync(path.join(os.tmpdir(), 'acp-harness-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const tools = createToolRegistry({ docsDir: loadSettings({}).docsDir, ticketsFile: path.join(tmp, 't.jsonl') });
const agent = AgentRegistry.load(path.join(PROJECT_ROOT, 'agents'), tools).resolve('docs-researcher');

test('wrong expectations are reported, each by name', async () => {
  const outcome = await runEvalCase(agent, new ScriptedPlanner(), tools, {
    name: 'wrong',
    task: 'How do I dispatch a run?',
    context: {},
    expect: { tools: ['ticket_create'], evidence_contains: ['no such text anywhere 42'], summary_contains: ['nope'] },
  });
  expect(outcome.passed).toBe(false);
  expect(outcome.failures).toEqual([
    'tools: expected ["ticket_create"], called ["docs_search"]',
    'no evidence contains "no such text anywhere 42"',
    'summary does not contain "nope"',
  ]);
});
