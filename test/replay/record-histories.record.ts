import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { resolveTemporalCli } from '../../temporal/cli';
import { parse as parseYaml } from 'yaml';
import { openAIProvider } from '../../activities/model/vendors';
import { ScriptedPlanner } from '../../activities/model/scripted';
import { createToolRegistry } from '../../activities/tools';
import { AgentRegistry } from '../../agents/registry';
import { loadSettings, PROJECT_ROOT } from '../../config/settings';
import { AgentDefinitionSchema } from '../../contracts/agent';
import type { Approval } from '../../contracts/run';
import { compilePolicy } from '../../policies/load';
import { startFakeLlmVendor } from '../../scripts/fakes/openai-vendor';
import { eventually, http, startPlatform, testTemporal, waitForRun } from '../support/platform';

// Records the histories replayed by replay.test.ts, from real runs on the dev server. Not part of
// `npm test` (its name does not match *.test.ts): `npm run histories:record` runs it; commit the
// files it writes to test/histories/.

/** The example agents, plus copies of docs-researcher for the budget, fallback and unusable-answer paths. */
function recordingAgents(tools: ReturnType<typeof createToolRegistry>): AgentRegistry {
  const load = (name: string) =>
    AgentDefinitionSchema.parse(parseYaml(readFileSync(path.join(PROJECT_ROOT, 'agents', name, 'agent.yaml'), 'utf8')));
  const docs = load('docs-researcher');
  const budgeted = AgentDefinitionSchema.parse({
    ...docs,
    name: 'budget-researcher',
    model: { provider: 'openai', name: 'gpt-priced', max_output_tokens: 100, pricing: { input_per_1k: 0, output_per_1k: 1 } },
    fallback: { model: docs.model },
  });
  const fallback = AgentDefinitionSchema.parse({
    ...docs,
    name: 'fallback-researcher',
    model: { provider: 'openai', name: 'gpt-record' },
    model_max_attempts: 1,
    fallback: { model: docs.model },
  });
  const unusable = AgentDefinitionSchema.parse({
    ...docs,
    name: 'unusable-researcher',
    model: { provider: 'openai', name: 'gpt-unusable', pricing: { input_per_1k: 1, output_per_1k: 1 } },
    model_max_attempts: 1,
    fallback: { model: docs.model },
  });
  return new AgentRegistry([docs, load('ticket-filer'), fallback, budgeted, unusable], tools);
}

/** The policy files the recording runs under. */
function recordingPolicySources(policiesDir: string): { file: string; text: string }[] {
  // The project's policy plus a tenant whose daily budget ($0.05) cannot cover one priced call ($0.10).
  const sources = readdirSync(policiesDir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => ({ file: f, text: readFileSync(path.join(policiesDir, f), 'utf8') }));
  // And a tenant with a daily token budget every call reserves against (settle one call, reserve the next).
  sources.push({
    file: 'record-budgets.yaml',
    text: 'budgets:\n  tenants:\n    frugal: { daily_cost_usd: 0.05 }\n    metered: { daily_tokens: 1000000 }\n',
  });
  return sources;
}

test('record histories of the example agents', async () => {
  const cli = resolveTemporalCli({ install: false }).path;
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'acp-record-'));
  const vendor = await startFakeLlmVendor();
  // gpt-unusable answers prose (billed, not a plan action); every other model is down.
  vendor.respondWith((body) =>
    body.model === 'gpt-unusable'
      ? { content: 'I would rather chat.', usage: { prompt_tokens: 200, completion_tokens: 6 } }
      : { status: 500, error: 'overloaded' },
  );
  const settings = loadSettings({});
  const tools = createToolRegistry({ docsDir: settings.docsDir, ticketsFile: path.join(tmp, 'tickets.jsonl') });
  const agents = recordingAgents(tools);
  const sources = recordingPolicySources(settings.policiesDir);
  const platform = await startPlatform({
    policy: compilePolicy(sources, { agents: agents.list().map((a) => a.name), tools: tools.names() }),
    agents,
    tools,
    blobDir: path.join(tmp, 'blobs'),
    providers: [new ScriptedPlanner(), openAIProvider({ baseUrl: vendor.url })],
  });
  const ALICE = platform.as({ subject: 'alice', roles: ['approver'] });
  const ctx = { priority: 'normal', details: 'recorded for replay tests' };
  const dispatch = async (agent: string, task: string) =>
    (await http(platform, 'POST', '/v1/runs', { agent, task, context: agent === 'ticket-filer' ? ctx : {} })).body.run_id as string;
  const approvalOf = (runId: string) =>
    eventually(async () => ((await http(platform, 'GET', `/v1/runs/${runId}`)).body.approvals as Approval[] | undefined)?.[0]);
  const save = async (name: string, runId: string, auth: Record<string, string> = {}) => {
    await waitForRun(platform, runId, 30_000, auth);
    // The CLI writes the standard JSON form of a history, the same an operator would download.
    const json = execFileSync(cli, ['workflow', 'show', '--address', testTemporal().address, '--workflow-id', runId, '--output', 'json'], {
      encoding: 'utf8',
    });
    writeFileSync(path.join(PROJECT_ROOT, 'test', 'histories', `${name}.json`), json);
  };
  try {
    await save('docs-researcher', await dispatch('docs-researcher', 'How do I dispatch a run?'));

    const approved = await dispatch('ticket-filer', 'Disk full on db-1');
    const a = await approvalOf(approved);
    await http(platform, 'POST', `/v1/runs/${approved}/approvals/${a.id}`, { decision: 'approve', args_hash: a.args_hash }, ALICE);
    await save('approval-approved', approved);

    const rejected = await dispatch('ticket-filer', 'Not an incident');
    const r = await approvalOf(rejected);
    await http(
      platform.baseUrl,
      'POST',
      `/v1/runs/${rejected}/approvals/${r.id}`,
      { decision: 'reject', args_hash: r.args_hash, comment: 'no' },
      ALICE,
    );
    await save('approval-rejected', rejected);

    const cancelled = await dispatch('ticket-filer', 'Cancel while waiting');
    await approvalOf(cancelled);
    await http(platform, 'POST', `/v1/runs/${cancelled}/cancel`);
    await save('cancelled', cancelled);

    await save('model-fallback', await dispatch('fallback-researcher', 'How are runs recorded?'));
    // An answer that fails validation after its repair turn: its billed tokens count (patch model-usage-on-failure).
    await save('model-unusable-answer', await dispatch('unusable-researcher', 'How are runs recorded?'));

    const frugal = platform.as({ subject: 'fred', tenant: 'frugal' });
    const budget = (await http(platform, 'POST', '/v1/runs', { agent: 'budget-researcher', task: 'What do budgets do?' }, frugal)).body
      .run_id as string;
    await save('budget-fallback', budget, frugal);

    // Every model call reserves; the settlement of one rides along with the next reservation (lean-history).
    const metered = platform.as({ subject: 'mia', tenant: 'metered' });
    const reserved = (await http(platform, 'POST', '/v1/runs', { agent: 'docs-researcher', task: 'How do I dispatch a run?' }, metered))
      .body.run_id as string;
    await save('budgeted-run', reserved, metered);
  } finally {
    await platform.stop();
    await vendor.close();
    rmSync(tmp, { recursive: true, force: true });
  }
});
